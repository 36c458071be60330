// Entry point of a standalone gateway process (`npm run start:gateway`, one of M behind the proxy).
import { createServer } from 'node:http';
import { loadConfigOrExit } from '@nexusguild/shared/config';
import { createLogger } from '@nexusguild/shared/log';
import { opsEndpoints, watchDependencies } from '@nexusguild/shared/metrics';
import { createSql } from '@nexusguild/shared/db/index';
import { closeRedis, createRedis, redisKeys } from '@nexusguild/shared/redis';
import { onShutdown } from '@nexusguild/shared/shutdown';
import { createGateway } from './app.ts';

const config = loadConfigOrExit();
const redis = createRedis(config.redisUrl);
const sql = createSql(config.databaseUrl);
const log = createLogger(config.logLevel);
const unwatch = watchDependencies({ redis: () => redis.ping(), postgres: () => sql`SELECT 1` });

// Liveness and readiness for the load balancer, /metrics for Prometheus (HAProxy and the Ingress
// send only /socket.io/ here, so /metrics stays internal); socket.io answers /socket.io/ itself.
const server = createServer(opsEndpoints(() => redis.ping().then(() => true)));
const gateway = createGateway(server, { config, redis, keys: redisKeys(config.redisPrefix), sql, log });
server.listen(config.port, config.host, () => log.info({ host: config.host, port: config.port }, 'gateway listening'));

onShutdown(log, async () => {
  unwatch();
  await gateway.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sql.end({ timeout: 5 });
  await closeRedis(redis);
});
