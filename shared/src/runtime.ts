// Owns the connections a service process holds (Postgres, Redis, S3, queues, the publisher and
// its snowflake lease) and closing them in order. Each service's start function takes these, so
// the all-in-one process shares one set and tests can open their own.
import { randomUUID } from 'node:crypto';
import { ConfigError, type Config } from './config.ts';
import { createSql, type Sql } from './db/index.ts';
import { claimWorkerId, createIdGenerator, type IdGenerator } from './ids.ts';
import { createJobs, type Jobs } from './jobs.ts';
import { createLogger, type Logger } from './log.ts';
import { watchDependencies } from './metrics.ts';
import { createPublisher, type Publisher } from './publisher.ts';
import { closeRedis, createRedis, redisKeys, type Redis, type RedisKeys } from './redis.ts';
import { createStorage, type Storage } from './storage.ts';

export interface Resources {
  config: Config;
  sql: Sql;
  redis: Redis;
  keys: RedisKeys;
  ids: IdGenerator;
  publisher: Publisher;
  storage: Storage;
  jobs: Jobs;
  log: Logger;
  close(): Promise<void>;
}

/** Crash-only: a process that lost its snowflake worker id must not mint another id. */
function exitOnLostLease() {
  console.error('snowflake worker id lease lost (the process stalled past its expiry): exiting to avoid duplicate ids');
  process.exit(70);
}

export async function openResources(config: Config): Promise<Resources> {
  if (!config.s3.endpoint) throw new ConfigError('S3_ENDPOINT is required (only `npm start` embeds an S3 server)');
  const keys = redisKeys(config.redisPrefix);
  const log = createLogger(config.logLevel);
  const redis = createRedis(config.redisUrl);
  const sql = createSql(config.databaseUrl);
  const lease = config.workerId === null ? await claimWorkerId(redis, keys, randomUUID(), exitOnLostLease) : null;
  const ids = createIdGenerator(lease?.workerId ?? config.workerId ?? 1);
  const storage = createStorage({ ...config.s3, endpoint: config.s3.endpoint });
  const jobs = createJobs(config.redisUrl, keys, redis);
  const unwatch = watchDependencies({ redis: () => redis.ping(), postgres: () => sql`SELECT 1`, jobCounts: () => jobs.counts() });
  return {
    config, sql, redis, keys, ids, storage, jobs, log,
    publisher: createPublisher(redis, keys, config.redisAdapter, log),
    async close() {
      unwatch();
      await jobs.close();
      await lease?.release().catch(() => {});
      storage.close();
      await sql.end({ timeout: 5 });
      await closeRedis(redis);
    },
  };
}
