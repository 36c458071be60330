// memory: gateway memory per idle authenticated socket. Opens websocket sockets (the k6 framing
// over ws, no per-socket socket.io-client machinery) in batches up to each of --steps (default
// 2000,10000), each with its own session (minted in the instance's Redis with its SESSION_SECRET
// and REDIS_PREFIX, for distinct synthetic users: a login per socket would take minutes), lets the
// target settle, then reads its RSS (/proc, --pids) and heap (/metrics, --metrics). The result is
// the slope between the first and last step, per socket.
//   SESSION_SECRET=... REDIS_PREFIX=... npm run bench -- memory --url http://127.0.0.1:3100 --pids <gateway pid> --metrics http://127.0.0.1:3100/metrics
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@nexusguild/shared/config';
import { closeRedis, createRedis, redisKeys } from '@nexusguild/shared/redis';
import { SESSION_COOKIE, createSessionStore, sessionSigner } from '@nexusguild/shared/sessions';
import { connectFramed, type FramedSocket } from './framed.ts';
import { options, report, round, targetSampler } from './lib.ts';

async function heapOf(urls: string[]): Promise<{ used: number; total: number } | null> {
  if (!urls.length) return null;
  let used = 0;
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    used += Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
    total += Number(/^nodejs_heap_size_total_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
  }
  return { used, total };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function memory(o = options()) {
  const steps = o.steps.length ? o.steps : [2000, 10000];
  const config = loadConfig(process.env, () => {});
  const redis = createRedis(config.redisUrl);
  const keys = redisKeys(config.redisPrefix);
  const store = createSessionStore(redis, keys);
  const signer = sessionSigner(config.sessionSecret);
  const sids: string[] = [];
  const mint = async (i: number) => {
    const sid = randomBytes(24).toString('base64url');
    sids.push(sid);
    const userId = String(9_000_000_000_000_000n + BigInt(i));
    await new Promise<void>((resolve, reject) => store.set(sid, { userId, username: `idle${i}`, refreshedAt: Date.now() }, (err) => (err ? reject(err) : resolve())));
    return `${SESSION_COOKIE}=${encodeURIComponent(signer.sign(sid))}`;
  };

  const sampler = targetSampler(o.pids);
  const sockets: FramedSocket[] = [];
  const points: { sockets: number; rss: number; heapUsed: number | null; heapTotal: number | null }[] = [];
  const baseline = { rss: sampler.rss(), heap: await heapOf(o.metrics) };
  const started = performance.now();
  for (const target of steps) {
    while (sockets.length < target) {
      const batch = Math.min(200, target - sockets.length);
      const cookies = await Promise.all(Array.from({ length: batch }, (_, j) => mint(sockets.length + j)));
      sockets.push(...(await Promise.all(cookies.map((cookie) => connectFramed(o.baseUrl, { cookie })))));
    }
    await settle(5000); // let allocation settle and a few GCs run
    const heap = await heapOf(o.metrics);
    points.push({ sockets: sockets.length, rss: sampler.rss(), heapUsed: heap?.used ?? null, heapTotal: heap?.total ?? null });
    console.log(`  ${sockets.length} sockets: target RSS ${round(sampler.rss() / 1048576, 1)} MB, heap used ${heap ? round(heap.used / 1048576, 1) : '?'} MB`);
  }
  if (o.hold > 0) {
    console.log(`  holding ${sockets.length} sockets for ${o.hold} s`);
    await settle(o.hold * 1000);
  }
  const alive = sockets.filter((s) => s.session.connected).length;
  const usage = sampler.stop();
  for (const s of sockets) s.close();
  await redis.del(...sids.map((sid) => keys.session(sid)));
  await closeRedis(redis);

  const first = points[0];
  const last = points[points.length - 1];
  const added = last.sockets - first.sockets;
  const perSocket = (a: number | null, b: number | null) => (a === null || b === null || added <= 0 ? null : round((b - a) / added / 1024, 2));
  const result = {
    scenario: 'memory', url: o.baseUrl, steps, connected_at_end: alive, open_seconds: round((performance.now() - started) / 1000, 1),
    baseline_rss_mb: round(baseline.rss / 1048576, 1), baseline_heap_used_mb: baseline.heap ? round(baseline.heap.used / 1048576, 1) : null,
    points: points.map((p) => ({ sockets: p.sockets, rss_mb: round(p.rss / 1048576, 1), heap_used_mb: p.heapUsed === null ? null : round(p.heapUsed / 1048576, 1), heap_total_mb: p.heapTotal === null ? null : round(p.heapTotal / 1048576, 1) })),
    rss_kib_per_socket: perSocket(first.rss, last.rss),
    heap_used_kib_per_socket: perSocket(first.heapUsed, last.heapUsed),
    heap_total_kib_per_socket: perSocket(first.heapTotal, last.heapTotal),
    target_kib_per_socket: 6,
    ...usage,
  };
  report(`memory ${first.sockets}→${last.sockets} idle authenticated sockets (${alive} connected at the end): RSS ${result.rss_kib_per_socket} KiB/socket, heap used ${result.heap_used_kib_per_socket} KiB/socket (target ≤ 6 KiB)`, result);
}
