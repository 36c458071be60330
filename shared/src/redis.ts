// Owns Redis connections and the layout of every key we write, so one prefix isolates a
// deployment (or a test run) completely: keys, the socket.io adapter channels and BullMQ queues.
import { Redis, type RedisOptions } from 'ioredis';

/**
 * A client that reconnects on its own. While Redis is away it logs a line every 30 s (not one per
 * retry), and a command fails after 3 reconnect attempts rather than waiting out the outage, so
 * callers answer 503 and readiness reports it.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, { lazyConnect: false, enableAutoPipelining: true, maxRetriesPerRequest: 3, ...options });
  reportOutages(client, `redis ${url.replace(/\/\/[^@]*@/, '//')}`);
  return client;
}

/**
 * Logs errors of a Redis-backed `emitter` (a client, a BullMQ queue or worker) at most once per
 * 30 s: during an outage every reconnect attempt fails, and one line says enough.
 */
export function reportOutages(emitter: { on(event: 'error', listener: (err: Error) => void): unknown }, label: string): void {
  let last = 0;
  emitter.on('error', (err: Error) => {
    if (Date.now() - last < 30_000) return;
    last = Date.now();
    console.warn(`${label}: ${err.message} (retrying)`);
  });
}

/** QUIT when Redis answers; drop the connection when it does not, so shutdown never throws or hangs. */
export async function closeRedis(client: Redis): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}

// Commands socket.io's Redis emitter and adapter send without awaiting them.
const UNAWAITED = ['publish', 'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'spublish', 'ssubscribe', 'sunsubscribe'] as const;

/**
 * socket.io's emitter and adapter fire some commands and never await them. During a Redis outage
 * those promises reject, and an unhandled rejection ends the process. This marks them handled
 * on `client`: a lost event is acceptable (every write is durable and clients re-read by REST),
 * a crashed service is not. A caller that does await still sees the rejection.
 */
export function tolerateUnawaitedCommands<C extends Redis>(client: C): C {
  for (const name of UNAWAITED) {
    const send = client[name].bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const reply = send(...args);
      reply.catch(() => {});
      return reply;
    };
  }
  return client;
}

export function redisKeys(prefix: string) {
  return {
    session: (sid: string) => `${prefix}sess:${sid}`,
    userSessions: (userId: string) => `${prefix}usess:${userId}`,
    snowflakeWorker: (id: number) => `${prefix}snowflake:worker:${id}`,
    snowflakeCounter: `${prefix}snowflake:next`,
    rateLimit: `${prefix}rl:`,
    /** socket.io adapter and emitter channel prefix: both sides must agree on it. */
    socketio: `${prefix}socket.io`,
    bullPrefix: `${prefix}bull`,
    /**
     * Presence and voice state (shared/src/presence.ts, shared/src/voice.ts). Their Lua scripts
     * touch several of these keys at once, so all share one hash tag (one slot on a cluster).
     */
    realtime: `${prefix}{rt}:`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
export type { Redis };
