// Owns the job contract between the API (producer) and the worker (consumer): queue names,
// payloads and the retry policy. Every job is idempotent: running it twice does no harm.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { currentRequestId } from './log.ts';
import { reportOutages, type Redis, type RedisKeys } from './redis.ts';

export interface JobPayloads {
  /** Sniff type, read dimensions, make thumbnails for a message's attachments. */
  'process-attachments': { messageId: string };
  /** Recount unread/mention counts after a message in a channel. */
  'aggregate-unread': { channelId: string };
  /** Resize an uploaded avatar (stored at `key`) and point users.avatar at the result. */
  'process-avatar': { userId: string; key: string };
  /** Delete objects whose rows are gone. */
  'delete-objects': { keys: string[] };
}
export type JobName = keyof JobPayloads;
/** A job's data: its payload plus the id of the request that caused it, for the logs. */
export type JobData<N extends JobName> = JobPayloads[N] & { requestId?: string };

export const QUEUE = 'main';

export const defaultJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/** How long an unread aggregation waits for more messages of its channel before it runs. */
export const UNREAD_COALESCE_MS = 200;

/**
 * Options a job always gets from its payload, whoever enqueues it (the caller's come on top).
 * Unread aggregation coalesces per channel: while one is delayed or waiting, more adds for the
 * channel are dropped (it will see their messages); while one runs, one more is kept and queued
 * when it finishes (keepLastIfActive), so a message committed after a run read its snapshot is
 * always counted. A burst of sends costs about one run per UNREAD_COALESCE_MS + run time.
 */
const optionsFor: { [N in JobName]?: (data: JobPayloads[N]) => JobsOptions } = {
  'aggregate-unread': ({ channelId }) => ({
    delay: UNREAD_COALESCE_MS,
    deduplication: { id: dedupId(channelId), keepLastIfActive: true },
  }),
};

const dedupId = (channelId: string) => `aggregate-unread:${channelId}`;

/**
 * Adds that also coalesce in this process before reaching Redis, by the same key as their
 * deduplication: while one add of a key is being sent, the adds that come meanwhile share one more,
 * sent after it (so after every one of their commits), as BullMQ would keep only one of them anyway.
 * At 600 messages a second in one channel this saves most of the adds' Redis round trips.
 */
const coalesceKey: { [N in JobName]?: (data: JobPayloads[N]) => string } = {
  'aggregate-unread': ({ channelId }) => dedupId(channelId),
};

/** One add per key in flight; those arriving meanwhile share the next. */
export function singleFlight() {
  interface Flight { done: Promise<void>; next?: Promise<void> }
  const flights = new Map<string, Flight>();
  const start = (key: string, add: () => Promise<void>): Promise<void> => {
    const flight: Flight = {
      done: add().finally(() => {
        if (flights.get(key) === flight) flights.delete(key);
      }),
    };
    flights.set(key, flight);
    return flight.done;
  };
  return (key: string, add: () => Promise<void>): Promise<void> => {
    const flight = flights.get(key);
    if (!flight) return start(key, add);
    return (flight.next ??= flight.done.catch(() => {}).then(() => start(key, add)));
  };
}

/** BullMQ needs its own connections with no request retry limit. */
export function bullConnection(redisUrl: string): ConnectionOptions {
  const u = new URL(redisUrl);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

export interface Jobs {
  enqueue<N extends JobName>(name: N, data: JobPayloads[N], opts?: JobsOptions): Promise<void>;
  /** Jobs by state, for metrics. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export function createJobs(redisUrl: string, keys: RedisKeys, statsClient: Redis): Jobs {
  const queue = new Queue(QUEUE, { connection: bullConnection(redisUrl), prefix: keys.bullPrefix, defaultJobOptions });
  const stats = new Queue(QUEUE, { connection: statsClient, prefix: keys.bullPrefix });
  reportOutages(queue, 'job queue');
  const coalesced = singleFlight();
  return {
    async enqueue(name, data, opts) {
      const own = (optionsFor[name] as ((d: typeof data) => JobsOptions) | undefined)?.(data);
      const add = async () => {
        await queue.add(name, { ...data, requestId: currentRequestId() } satisfies JobData<typeof name>, { ...own, ...opts });
      };
      const key = (coalesceKey[name] as ((d: typeof data) => string) | undefined)?.(data);
      await (key === undefined ? add() : coalesced(key, add));
    },
    // Counted through a second Queue on the caller's client, which gives up on a command after a
    // few retries: the producer's own connection never does (BullMQ needs that), so a count asked
    // during an outage would wait for Redis forever and hold up close().
    counts: () => stats.getJobCounts('waiting', 'active', 'delayed', 'failed'),
    close: () => Promise.all([queue.close(), stats.close()]).then(() => {}),
  };
}
