// Owns Redis connections and the layout of every key we write, so one prefix isolates a
// deployment (or a test run) completely: keys, the socket.io adapter channels and BullMQ queues.
import { Redis, type RedisOptions } from 'ioredis';

export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { lazyConnect: false, enableAutoPipelining: true, ...options });
}

// Commands socket.io's Redis emitter and adapter send without awaiting them.
const UNAWAITED = ['publish', 'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'] as const;

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
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
export type { Redis };
