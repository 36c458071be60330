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

// Compare-and-act scripts: only the lease's owner may extend or delete it.
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/**
 * Claims a free worker id: walks a shared counter until SET NX succeeds, then renews the lease.
 * If a renewal finds the lease gone (the process stalled past its expiry and another may now
 * hold the id), `onLost` is called: minting on would risk duplicate ids.
 */
export async function claimWorkerId(
  redis: Redis, keys: RedisKeys, owner: string, onLost: () => void, leaseMs = LEASE_MS,
): Promise<WorkerIdLease> {
  for (let attempt = 0; attempt < WORKER_IDS; attempt++) {
    const candidate = (await redis.incr(keys.snowflakeCounter)) % WORKER_IDS;
    const key = keys.snowflakeWorker(candidate);
    if ((await redis.set(key, owner, 'PX', leaseMs, 'NX')) !== 'OK') continue;
    const renew = setInterval(() => {
      redis.eval(RENEW, 1, key, owner, leaseMs).then(
        (renewed) => {
          if (renewed === 0) {
            clearInterval(renew);
            onLost();
          }
        },
        () => {}, // Redis unreachable: try again at the next tick, well inside the lease
      );
    }, leaseMs / 3);
    renew.unref();
    return {
      workerId: candidate,
      async release() {
        clearInterval(renew);
        await redis.eval(RELEASE, 1, key, owner);
      },
    };
  }
  throw new Error('no free snowflake worker id: 1024 processes hold one');
}
