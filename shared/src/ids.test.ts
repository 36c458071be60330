// Snowflake ids: the bit layout, strict ordering under a real and a misbehaving clock, worker
// separation, and worker id leases against a real Redis under a key prefix of their own.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { EPOCH, ID_PATTERN, claimWorkerId, createIdGenerator, idTime, isId, type WorkerIdLease } from './ids.ts';
import { redisKeys } from './redis.ts';

const T = Date.UTC(2026, 2, 7, 12, 0, 0); // a fixed "now" for fake clocks

const parts = (id: string) => {
  const n = BigInt(id);
  return { ms: Number((n >> 22n) + EPOCH), worker: Number((n >> 12n) & 1023n), sequence: Number(n & 4095n) };
};

/** Asserts ids are strictly increasing as numbers (and so unique). */
function assertIncreasing(t: Test, ids: string[], what: string) {
  for (let i = 1; i < ids.length; i++) {
    if (BigInt(ids[i]) <= BigInt(ids[i - 1])) {
      t.fail(`${what}: id #${i} ${ids[i]} is not above ${ids[i - 1]}`);
      return;
    }
  }
  t.pass(`${what}: ${ids.length} ids strictly increasing`);
}

t.test('layout: ms since the epoch << 22 | worker << 12 | sequence, as a decimal string', async (t) => {
  const g = createIdGenerator(0b1010101010, () => T);
  const a = g.next();
  const b = g.next();
  t.match(a, /^[1-9][0-9]{0,19}$/, 'decimal digits, no leading zero');
  t.same(parts(a), { ms: T, worker: 682, sequence: 0 });
  t.same(parts(b), { ms: T, worker: 682, sequence: 1 });
  t.equal(BigInt(a), ((BigInt(T) - 1234147200000n) << 22n) | (682n << 12n));
  t.equal(g.workerId, 682);
  t.equal(idTime(a).getTime(), T);
  t.equal(createIdGenerator(1023, () => T).next(), (((BigInt(T) - EPOCH) << 22n) | (1023n << 12n)).toString(), 'top worker id fits');
});

t.test('with the real clock, idTime recovers the minting time', async (t) => {
  const g = createIdGenerator(3);
  const before = Date.now();
  const id = g.next();
  const after = Date.now();
  const at = idTime(id).getTime();
  t.ok(at >= before && at <= after, `${at} within [${before}, ${after}]`);
  t.equal(parts(id).worker, 3);
});

t.test('10k ids from the real clock are strictly increasing', async (t) => {
  const g = createIdGenerator(9);
  const ids = Array.from({ length: 10_000 }, () => g.next());
  assertIncreasing(t, ids, 'real clock');
  t.equal(new Set(ids).size, ids.length);
});

t.test('a spent sequence waits for the next millisecond, never reusing one', async (t) => {
  const reads: number[] = [];
  let i = 0;
  // 4096 reads on T, then three more reads still on T (the wait), then T + 1.
  const g = createIdGenerator(2, () => {
    const v = i < 4096 + 3 ? T : T + 1;
    i += 1;
    reads.push(v);
    return v;
  });
  const ids = Array.from({ length: 4097 }, () => g.next());
  t.equal(reads.length, 4096 + 4, 'the 4097th id read the clock until it passed T');
  t.same(parts(ids[4096]), { ms: T + 1, worker: 2, sequence: 0 });
  assertIncreasing(t, ids, 'across the overflow');
});

t.test('a clock stepping backwards never yields a smaller or repeated id', async (t) => {
  t.test('small steps', async (t) => {
    const script = [T, T, T + 1, T - 5, T - 5, T - 1000, T + 1, T + 2, T - 3, T + 2, T + 3];
    let i = 0;
    const g = createIdGenerator(4, () => script[Math.min(i++, script.length - 1)]);
    const ids = script.map(() => g.next());
    assertIncreasing(t, ids, 'scripted clock');
    t.equal(parts(ids[3]).ms, T + 1, 'stays on the last millisecond while the clock is behind');
    t.equal(parts(ids[3]).sequence, 1);
    t.equal(parts(ids[7]).ms, T + 2);
  });

  t.test('a jittery clock, with overflows while it is behind', async (t) => {
    // Moves on one ms per 5000 reads, but reads 20 ms behind for the first 4000 of each: the
    // generator stays on its last millisecond, spends its sequence and must wait there.
    let reads = 0;
    const g = createIdGenerator(5, () => {
      const r = 4000 + reads++; // starts on T, in the "ahead" part
      return T + Math.floor(r / 5000) - (r % 5000 < 4000 ? 20 : 0);
    });
    const ids = Array.from({ length: 30_000 }, () => g.next());
    assertIncreasing(t, ids, 'jittery clock');
    t.ok(reads > ids.length, `it waited through overflows (${reads} reads for ${ids.length} ids)`);
    t.ok(ids.every((id) => parts(id).ms >= T), 'never minted in the stepped-back past');
  });
});

t.test('two generators with different worker ids never collide', async (t) => {
  // Identical clocks, so the same (ms, sequence) pairs come out of both: only the worker bits differ.
  const clockFor = () => {
    let reads = 0;
    return () => T + Math.floor(reads++ / 1500);
  };
  const a = createIdGenerator(1, clockFor());
  const b = createIdGenerator(2, clockFor());
  const all = new Set<string>();
  let sameSlot = 0;
  for (let i = 0; i < 8000; i++) {
    const x = a.next();
    const y = b.next();
    const [px, py] = [parts(x), parts(y)];
    if (px.ms === py.ms && px.sequence === py.sequence) sameSlot += 1;
    all.add(x).add(y);
  }
  t.equal(sameSlot, 8000, 'both minted the same (ms, sequence) pairs');
  t.equal(all.size, 16_000, 'yet no id repeats');
});

t.test('fromTime is the smallest id of a millisecond', async (t) => {
  const g = createIdGenerator(1023, () => T);
  const id = g.next();
  t.same(parts(g.fromTime(T)), { ms: T, worker: 0, sequence: 0 });
  t.ok(BigInt(g.fromTime(T)) <= BigInt(id), 'an id minted at T is not before fromTime(T)');
  t.ok(BigInt(g.fromTime(T + 1)) > BigInt(id), 'and is before fromTime(T + 1)');
  const g2 = createIdGenerator(0, () => T - 1);
  const earlier = g2.next();
  for (let k = 0; k < 4095; k++) g2.next();
  t.ok(BigInt(g.fromTime(T)) > BigInt(earlier), 'ids of T - 1 sort before fromTime(T)');
  const times = [T - 86_400_000, T - 1, T, T + 1, T + 3_600_000];
  const cursors = times.map((ms) => BigInt(g.fromTime(ms)));
  t.ok(cursors.every((c, i) => i === 0 || c > cursors[i - 1]), 'ordered like the times');
  t.equal(idTime(g.fromTime(T)).getTime(), T);
});

t.test('worker ids outside 0–1023 are refused', async (t) => {
  for (const bad of [-1, 1024, 1.5, Number.NaN]) t.throws(() => createIdGenerator(bad), `${bad}`);
  t.doesNotThrow(() => createIdGenerator(0));
  t.doesNotThrow(() => createIdGenerator(1023));
});

t.test('isId accepts 1–20 decimal digits only', async (t) => {
  const good = ['0', '7', '123456789012345678', '12345678901234567890'];
  const bad = ['', '123456789012345678901', '-1', '+1', '1.5', '1e5', '0x1F', ' 1', '1 ', '1\n', '\n1', '١٢٣', '１２', 'abc', '12a'];
  const pattern = new RegExp(ID_PATTERN, 'u'); // how JSON-schema validators apply it
  for (const v of good) {
    t.equal(isId(v), true, JSON.stringify(v));
    t.equal(pattern.test(v), true, `pattern ${JSON.stringify(v)}`);
  }
  for (const v of bad) {
    t.equal(isId(v), false, JSON.stringify(v));
    t.equal(pattern.test(v), false, `pattern ${JSON.stringify(v)}`);
  }
  for (const v of [1, 12n, null, undefined, ['1'], { id: '1' }]) t.equal(isId(v), false, String(v));
});

t.test('claimWorkerId against Redis', async (t) => {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const prefix = `${process.env.TEST_REDIS_PREFIX ?? 'ngt:'}${randomBytes(4).toString('hex')}:`;
  const keys = redisKeys(prefix);
  const leases: WorkerIdLease[] = [];
  t.teardown(async () => {
    for (const l of leases) await l.release().catch(() => {});
    const left = await redis.keys(`${prefix}*`);
    if (left.length) await redis.del(...left);
    await redis.quit();
  });
  const claim = async (owner: string) => {
    const lease = await claimWorkerId(redis, keys, owner, () => {});
    leases.push(lease);
    return lease;
  };

  t.test('20 concurrent claims get 20 distinct ids, each a lease that expires', async (t) => {
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => claim(`owner-${i}`)));
    const ids = got.map((l) => l.workerId);
    t.equal(new Set(ids).size, 20);
    t.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 1024));
    for (const [i, lease] of got.entries()) {
      t.equal(await redis.get(keys.snowflakeWorker(lease.workerId)), `owner-${i}`);
      const ttl = await redis.pttl(keys.snowflakeWorker(lease.workerId));
      t.ok(ttl > 0 && ttl <= 60_000, `lease ${lease.workerId} expires (${ttl} ms)`);
    }
    await Promise.all(got.map((l) => l.release()));
    for (const lease of got) t.equal(await redis.exists(keys.snowflakeWorker(lease.workerId)), 0, 'released');
  });

  t.test('a held id is skipped, and the counter wraps at 1024', async (t) => {
    await redis.set(keys.snowflakeCounter, 2047 + 1024 * 3); // next INCR lands on 0 (mod 1024)
    await redis.set(keys.snowflakeWorker(0), 'someone-else', 'PX', 60_000);
    const lease = await claim('me');
    t.equal(lease.workerId, 1, 'skipped 0, held by another process');
    t.equal(await redis.get(keys.snowflakeWorker(0)), 'someone-else', 'the other lease is untouched');
    await lease.release();
    await redis.del(keys.snowflakeWorker(0));
  });

  t.test('release frees only our own lease', async (t) => {
    const mine = await claim('mine');
    const key = keys.snowflakeWorker(mine.workerId);
    // Our lease lapsed (a long pause) and another process took the id.
    await redis.set(key, 'theirs', 'PX', 60_000);
    await mine.release();
    t.equal(await redis.get(key), 'theirs', 'the new owner keeps it');
    await redis.del(key);

    const again = await claim('again');
    await again.release();
    t.equal(await redis.exists(keys.snowflakeWorker(again.workerId)), 0, 'our own lease is deleted');
  });

  t.test('the lease is renewed, and losing it to another owner is reported', async (t) => {
    let lost!: () => void;
    const lostReported = new Promise<void>((resolve) => (lost = resolve));
    const lease = await claimWorkerId(redis, keys, 'short', () => lost(), 300);
    leases.push(lease);
    const key = keys.snowflakeWorker(lease.workerId);
    // Shorten the lease; a renewal (every 100 ms) pushes it back to 300 ms. Redis has no event
    // for that, so observe the TTL, pacing the probes.
    await redis.pexpire(key, 200);
    let ttl = await redis.pttl(key);
    for (let i = 0; i < 50 && ttl <= 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20)); // probe pacing, not synchronisation
      ttl = await redis.pttl(key);
    }
    t.ok(ttl > 200, `renewed (ttl ${ttl} ms)`);
    await redis.set(key, 'thief', 'PX', 60_000);
    await lostReported;
    t.equal(await redis.get(key), 'thief', 'the renewal did not take the id back');
    await redis.del(key);
  });

  t.test('when all 1024 ids are held, claiming fails', async (t) => {
    const all = Array.from({ length: 1024 }, (_, i) => [keys.snowflakeWorker(i), 'held']).flat();
    await redis.mset(...all);
    await t.rejects(claimWorkerId(redis, keys, 'late', () => {}), /no free snowflake worker id/);
    await redis.del(...Array.from({ length: 1024 }, (_, i) => keys.snowflakeWorker(i)));
  });
});
