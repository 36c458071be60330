// Owns Redis connections and the layout of every key we write, so one prefix isolates a
// deployment (or a test run) completely: keys, the socket.io adapter channels and BullMQ queues.
import { Redis, type RedisOptions } from 'ioredis';

export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { lazyConnect: false, enableAutoPipelining: true, ...options });
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
