// Owns rate limits: counters in Redis so a limit holds across every API process. Routes opt in
// with `config: { rateLimit: limits.x }`; RATE_LIMIT_ENABLED=false turns every limit off.
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '@nexusguild/shared/redis';

export const limits = {
  login: { max: 10, timeWindow: '1 minute' },
  register: { max: 5, timeWindow: '1 minute' },
  /** Invite codes are guessable only by brute force; this keeps it slow. */
  joinServer: { max: 20, timeWindow: '1 minute' },
  createServer: { max: 10, timeWindow: '1 minute' },
  /** Opening a DM notifies the recipient at once (dm_created): this keeps it from being spam. */
  openDm: { max: 30, timeWindow: '1 minute' },
  createGroupDm: { max: 10, timeWindow: '1 minute' },
};

export async function registerRateLimit(app: FastifyInstance, enabled: boolean, redis: Redis, keys: RedisKeys) {
  if (!enabled) return;
  await app.register(fastifyRateLimit, {
    global: false,
    redis,
    nameSpace: keys.rateLimit,
    skipOnError: true, // Redis trouble must not lock everyone out
  });
}
