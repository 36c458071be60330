// "Degrade gracefully at run time": when Postgres or Redis drops away, requests get 503 JSON
// (not 500, not a hang) and /readyz says which one; when it comes back, everything recovers
// without a restart.
import t, { type Test } from 'tap';
import { rooms } from '@nexusguild/shared/events';
import { setup } from './harness.ts';
import { startTcpProxy } from './tcp-proxy.ts';

const pgProxy = await startTcpProxy(5432);
const redisProxy = await startTcpProxy(6379);
// Teardowns run last-registered first: the services close before their proxies do.
t.teardown(async () => {
  await pgProxy.close();
  await redisProxy.close();
});
const env = await setup(t, { REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` }, { databasePort: pgProxy.port });
const { app, resources } = env;
const { cookie, user } = await env.register('degrade');
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

/** A request gets 503 JSON and /readyz names `dependency` as down; returns readyz's checks. */
async function assertDown(t: Test, dependency: 'postgres' | 'redis'): Promise<Record<string, string>> {
  const down = await me();
  t.equal(down.statusCode, 503);
  t.same(down.json(), { error: 'Service temporarily unavailable' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().checks[dependency], 'down');
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, new RegExp(`^dependency_up\\{dependency="${dependency}"\\} 0$`, 'm'), '/metrics reports it down');
  return ready.json().checks;
}

t.test('Postgres away: 503 JSON and readyz says postgres; back: recovers', async (t) => {
  t.equal((await me()).statusCode, 200);
  await pgProxy.cut();
  const checks = await assertDown(t, 'postgres');
  t.equal(checks.redis, 'ok');
  await pgProxy.restore();
  // The pool reconnects on its own within its backoff (at most 2 s): poll the real request.
  t.equal(await eventually(async () => (await me()).statusCode, 200), 200);
});

t.test('Redis away: 503 JSON and readyz says redis; back: recovers', async (t) => {
  const socket = await env.connect(cookie);
  await redisProxy.cut();
  // Events published during the outage are lost, but must not crash the API or the gateway
  // (the emitter and the adapter never await their publishes: an unhandled rejection would end
  // this test process).
  resources.publisher.emit(rooms.user(user.id), 'server_joined', { serverId: '1' });
  env.gateway.io.to(rooms.user(user.id)).emit('server_joined', { serverId: '2' });
  await assertDown(t, 'redis');
  await redisProxy.restore();
  // ioredis reconnects on its own; the first request after it is back succeeds.
  await new Promise<void>((resolve) => (resources.redis.status === 'ready' ? resolve() : resources.redis.once('ready', () => resolve())));
  t.equal((await me()).statusCode, 200);
  t.ok(socket.connected, 'the socket on this gateway survived the outage');
});

t.test('shutting down while Postgres and Redis are away neither throws nor hangs', async (t) => {
  await env.connect(cookie);
  await Promise.all([pgProxy.cut(), redisProxy.cut()]);
  await env.close();
  t.pass('closed');
});
