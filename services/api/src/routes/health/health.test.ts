import t from 'tap';
import { Redis } from 'ioredis';
import { buildApp } from '@nexusguild/api';
import { createSql } from '@nexusguild/shared/db/index';
import { createStorage } from '@nexusguild/shared/storage';
import { setup } from '../../../../../test/harness.ts';

const env = await setup(t);

t.test('GET /api/health is public and reports status, timestamp and uptime', async (t) => {
  const res = await env.request('GET', '/api/health');
  t.equal(res.status, 200);
  t.match(String(res.headers['content-type']), /^application\/json/);
  t.same(Object.keys(res.body).sort(), ['status', 'timestamp', 'uptime']);
  t.equal(res.body.status, 'ok');
  t.match(res.body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO-8601 UTC');
  t.ok(Math.abs(Date.parse(res.body.timestamp) - Date.now()) < 60_000, 'timestamp is now');
  t.type(res.body.uptime, 'number');
  t.ok(res.body.uptime >= 0 && res.body.uptime < 3600, 'uptime in seconds since start');

  const later = await env.request('GET', '/api/health');
  t.ok(later.body.uptime >= res.body.uptime, 'uptime does not go backwards');

  // A bad cookie does not matter on a public route.
  const withCookie = await env.request('GET', '/api/health', { cookie: 'connect.sid=garbage.sig' });
  t.equal(withCookie.status, 200);
});

t.test('/healthz and /readyz', async (t) => {
  const live = await env.request('GET', '/healthz');
  t.equal(live.status, 200);
  t.same(live.body, { status: 'ok' });

  const ready = await env.request('GET', '/readyz');
  t.equal(ready.status, 200);
  t.same(ready.body, { status: 'ready', checks: { postgres: 'ok', redis: 'ok', s3: 'ok' } });

  const head = await env.app.inject({ method: 'HEAD', url: '/healthz' });
  t.equal(head.statusCode, 200, 'HEAD works for load balancers');
  t.equal(head.body, '', 'HEAD has no body');
});

t.test('/readyz reports each dependency that is down with 503', async (t) => {
  const deadSql = createSql(env.config.databaseUrl, { max: 1 });
  await deadSql.end();
  const deadRedis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  deadRedis.on('error', () => {});
  t.teardown(() => deadRedis.disconnect());
  const deadS3 = createStorage({ ...env.config.s3, endpoint: 'http://127.0.0.1:1' });
  t.teardown(() => deadS3.close());

  const cases = [
    { name: 'postgres', deps: { sql: deadSql } },
    { name: 'redis', deps: { redis: deadRedis } },
    { name: 's3', deps: { storage: deadS3 } },
  ] as const;
  for (const { name, deps } of cases) {
    const app = await buildApp({ ...env.resources, ...deps });
    t.teardown(() => app.close());
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(res.statusCode, 503, `${name} down: 503`);
    const body = res.json();
    t.equal(body.status, 'unavailable');
    t.equal(body.checks[name], 'down', `${name} reported down`);
    for (const other of ['postgres', 'redis', 's3'].filter((n) => n !== name)) {
      t.equal(body.checks[other], 'ok', `${name} down: ${other} still ok`);
    }
    const live = await app.inject({ method: 'GET', url: '/healthz' });
    t.equal(live.statusCode, 200, `${name} down: the process is still alive`);
  }
});

t.test('GET /api/openapi.json is public and documents auth without password_hash', async (t) => {
  const res = await env.request('GET', '/api/openapi.json');
  t.equal(res.status, 200);
  t.match(String(res.headers['content-type']), /^application\/json/);
  const doc = res.body;
  t.match(doc.openapi, /^3\./);
  for (const [path, method] of [
    ['/api/auth/register', 'post'],
    ['/api/auth/login', 'post'],
    ['/api/auth/logout', 'post'],
    ['/api/auth/me', 'get'],
    ['/api/health', 'get'],
  ]) {
    t.ok(doc.paths?.[path]?.[method], `documents ${method.toUpperCase()} ${path}`);
  }
  t.notOk(doc.paths?.['/api/openapi.json'], 'the document itself is hidden');
  const text = JSON.stringify(doc);
  t.notOk(text.includes('password_hash'), 'no password_hash anywhere');
  const schemas = Object.values(doc.components?.schemas ?? {}) as { title?: string; properties: object }[];
  const userSchema = schemas.find((s) => s.title === 'User')!;
  t.ok(userSchema, 'User schema published');
  t.same(Object.keys(userSchema.properties).sort(), ['avatar', 'created_at', 'custom_status', 'email', 'id', 'status', 'username']);
  const created = doc.paths['/api/auth/register'].post.responses['201'].content['application/json'].schema;
  t.equal(doc.components.schemas[String(created.$ref).split('/').pop()!], userSchema, 'register answers a User');
  t.ok(doc.paths['/api/auth/register'].post.responses['409'], 'register documents 409');
  t.ok(doc.paths['/api/auth/login'].post.responses['401'], 'login documents 401');
});
