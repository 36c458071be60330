// "Degrade gracefully at run time": when Postgres or Redis drops away, requests get 503 JSON
// (not 500, not a hang) and /readyz says which one; when it comes back, everything recovers
// without a restart.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@nexusguild/shared/config';
import { openResources } from '@nexusguild/shared/runtime';
import { buildApp } from '@nexusguild/api';
import { cloneTemplate, createTemplate, databaseUrl, dropDatabases } from './db.ts';
import { startTcpProxy } from './tcp-proxy.ts';

const suffix = randomBytes(4).toString('hex');
const runId = process.env.TEST_RUN_ID ?? `${Date.now().toString(36)}_${process.pid}`;
const database = `ngt_${runId}_${suffix}`;
let template = process.env.TEST_TEMPLATE_DB;
if (!template) await createTemplate((template = `ngt_${runId}_tpl`));
await cloneTemplate(template, database);

const pgProxy = await startTcpProxy(5432);
const redisProxy = await startTcpProxy(6379);
const pgUrl = new URL(databaseUrl(database));
pgUrl.port = String(pgProxy.port);

const config = loadConfig({
  DATABASE_URL: pgUrl.toString(),
  REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
  REDIS_PREFIX: `${process.env.TEST_REDIS_PREFIX ?? `ngt:${runId}:`}${suffix}:`,
  S3_ENDPOINT: process.env.TEST_S3_ENDPOINT ?? '',
  S3_BUCKET: `ngt-${suffix}`,
  SESSION_SECRET: 'degrade-test-secret-0123456789abcdefgh',
  RATE_LIMIT_ENABLED: 'false',
  LOG_LEVEL: 'silent',
}, () => {});
const resources = await openResources(config);
await resources.storage.ensureBucket();
const app = await buildApp(resources);
t.teardown(async () => {
  await app.close();
  await resources.close();
  await pgProxy.close();
  await redisProxy.close();
  await dropDatabases([database]);
});

const reg = await app.inject({
  method: 'POST', url: '/api/auth/register',
  payload: { username: 'degrade', email: 'degrade@example.com', password: 'password123' },
});
const cookie = String(reg.headers['set-cookie']).split(';')[0];
/** Retries `probe` until it returns `want` (or 10 s pass); there is no event for "the pool reconnected". */
async function eventually<T>(probe: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 10_000;
  let got = await probe();
  while (got !== want && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25)); // pacing between probes, not synchronisation
    got = await probe();
  }
  return got;
}

const me = () => app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });

t.test('Postgres away: 503 JSON and readyz says postgres; back: recovers', async (t) => {
  t.equal((await me()).statusCode, 200);
  await pgProxy.cut();
  const down = await me();
  t.equal(down.statusCode, 503);
  t.same(down.json(), { error: 'Service temporarily unavailable' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().checks.postgres, 'down');
  t.equal(ready.json().checks.redis, 'ok');
  await pgProxy.restore();
  // The pool reconnects on its own within its backoff (at most 2 s): poll the real request.
  t.equal(await eventually(async () => (await me()).statusCode, 200), 200);
});

t.test('Redis away: 503 JSON and readyz says redis; back: recovers', async (t) => {
  await redisProxy.cut();
  const down = await me();
  t.equal(down.statusCode, 503);
  t.same(down.json(), { error: 'Service temporarily unavailable' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().checks.redis, 'down');
  await redisProxy.restore();
  // ioredis reconnects on its own; the first request after it is back succeeds.
  await new Promise<void>((resolve) => (resources.redis.status === 'ready' ? resolve() : resources.redis.once('ready', () => resolve())));
  t.equal((await me()).statusCode, 200);
});
