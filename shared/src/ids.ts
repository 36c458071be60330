// Owns snowflake ids: (ms since 2009-02-09T02:40:00Z) << 22 | worker << 12 | sequence, sent as
// decimal strings. The 10-bit worker id must be unique among live processes, so each process
// claims one in Redis with a lease it keeps renewing; a crashed process's id frees itself.
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis.ts';

export const EPOCH = 1234147200000n;
const MAX_SEQUENCE = 4095;
const WORKER_IDS = 1024;
const LEASE_MS = 60_000;

/** A path or query id: 1–20 decimal digits. */
export const ID_PATTERN = '^[0-9]{1,20}$';
export const isId = (value: unknown): value is string => typeof value === 'string' && /^[0-9]{1,20}$/.test(value);

export interface IdGenerator {
  workerId: number;
  next(): string;
  /** The smallest id that could have been minted at this time: cursors like "everything since". */
  fromTime(ms: number): string;
}

export function createIdGenerator(workerId: number, now: () => number = Date.now): IdGenerator {
  if (!Number.isInteger(workerId) || workerId < 0 || workerId >= WORKER_IDS) throw new Error(`bad worker id ${workerId}`);
  let lastMs = -1;
  let sequence = 0;
  const worker = BigInt(workerId) << 12n;
  return {
    workerId,
    next() {
      let ms = now();
      if (ms < lastMs) ms = lastMs; // the clock stepped back: stay on the last millisecond
      if (ms === lastMs) {
        sequence += 1;
        if (sequence > MAX_SEQUENCE) {
          while (ms <= lastMs) ms = now(); // sequence spent: wait for the next millisecond
          sequence = 0;
        }
      } else {
        sequence = 0;
      }
      lastMs = ms;
      return ((BigInt(ms) - EPOCH) << 22n | worker | BigInt(sequence)).toString();
    },
    fromTime(ms: number) {
      return ((BigInt(ms) - EPOCH) << 22n).toString();
    },
  };
}

export const idTime = (id: string): Date => new Date(Number((BigInt(id) >> 22n) + EPOCH));

export interface WorkerIdLease {
  workerId: number;
  release(): Promise<void>;
}

/** Claims a free worker id: walks a shared counter until SET NX succeeds, then renews the lease. */
export async function claimWorkerId(redis: Redis, keys: RedisKeys, owner: string): Promise<WorkerIdLease> {
  for (let attempt = 0; attempt < WORKER_IDS; attempt++) {
    const candidate = (await redis.incr(keys.snowflakeCounter)) % WORKER_IDS;
    const key = keys.snowflakeWorker(candidate);
    if ((await redis.set(key, owner, 'PX', LEASE_MS, 'NX')) !== 'OK') continue;
    const renew = setInterval(() => {
      redis.set(key, owner, 'PX', LEASE_MS).catch(() => {});
    }, LEASE_MS / 3);
    renew.unref();
    return {
      workerId: candidate,
      async release() {
        clearInterval(renew);
        // Delete only our own lease: compare-and-delete in one step.
        await redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, key, owner);
      },
    };
  }
  throw new Error('no free snowflake worker id: 1024 processes hold one');
}
