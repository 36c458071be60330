import t from 'tap';
import { buildApp } from '@nexusguild/api';
import { setup } from '../../../../test/harness.ts';
import { limits } from './rate-limit.ts';

const badLogin = { email: 'nobody@example.com', password: 'wrong-password' };

t.test('with RATE_LIMIT_ENABLED=true, repeated logins from one IP get 429', async (t) => {
  const env = await setup(t, { RATE_LIMIT_ENABLED: 'true' });
  const max = limits.login.max;
  t.ok(max > 1 && max <= 20, 'login limit is small enough to be useful');

  for (let i = 1; i <= max; i++) {
    const res = await env.request('POST', '/api/auth/login', { json: badLogin });
    t.equal(res.status, 401, `attempt ${i} is answered normally`);
    t.equal(res.headers['x-ratelimit-limit'], String(max), `attempt ${i}: X-RateLimit-Limit`);
    t.equal(res.headers['x-ratelimit-remaining'], String(max - i), `attempt ${i}: X-RateLimit-Remaining`);
  }

  const limited = await env.request('POST', '/api/auth/login', { json: badLogin });
  t.equal(limited.status, 429);
  t.match(String(limited.headers['content-type']), /^application\/json/);
  t.type(limited.body.error, 'string');
  t.same(Object.keys(limited.body), ['error']);
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `Retry-After in seconds (${limited.headers['retry-after']})`);
  t.equal(limited.headers['x-ratelimit-limit'], String(max));
  t.equal(limited.headers['x-ratelimit-remaining'], '0');

  // Correct credentials do not get around it either, and no session is handed out.
  const { user, password } = await env.register('rl');
  const good = await env.request('POST', '/api/auth/login', { json: { email: user.email, password } });
  t.equal(good.status, 429, 'still limited with the right password');
  t.notOk(good.cookie, 'no session while limited');

  // X-Forwarded-For is not trusted without TRUST_PROXY, so it cannot dodge the limit.
  const spoofed = await env.request('POST', '/api/auth/login', { json: badLogin, headers: { 'x-forwarded-for': '203.0.113.9' } });
  t.equal(spoofed.status, 429, 'X-Forwarded-For is ignored');

  // The limit is per client address: another IP is unaffected.
  const otherIp = await env.app.inject({ method: 'POST', url: '/api/auth/login', payload: badLogin, remoteAddress: '198.51.100.7' });
  t.equal(otherIp.statusCode, 401, 'another IP is not limited');
  t.equal(otherIp.headers['x-ratelimit-remaining'], String(max - 1));

  // The limit is per route: other routes of the same IP still work.
  const me = await env.request('GET', '/api/auth/me');
  t.equal(me.status, 401, 'unlimited route answers normally');
  t.notOk(me.headers['x-ratelimit-limit'], 'unlimited routes carry no limit headers');
  const health = await env.request('GET', '/api/health');
  t.equal(health.status, 200);

  // The counter lives in Redis, under this deployment's prefix.
  const rlKeys = await env.resources.redis.keys(`${env.resources.keys.rateLimit}*`);
  t.ok(rlKeys.length > 0, 'counters are in Redis under the rate-limit prefix');
});

t.test('registration has its own limit', async (t) => {
  const env = await setup(t, { RATE_LIMIT_ENABLED: 'true' });
  const max = limits.register.max;
  // Bad input still counts (the limit runs before validation), which keeps this test cheap.
  for (let i = 1; i <= max; i++) {
    const res = await env.request('POST', '/api/auth/register', { json: {} });
    t.equal(res.status, 400, `attempt ${i}`);
    t.equal(res.headers['x-ratelimit-limit'], String(max));
  }
  const limited = await env.request('POST', '/api/auth/register', {
    json: { username: 'late_user', email: 'late@example.com', password: 'password123' },
  });
  t.equal(limited.status, 429);
  t.type(limited.body.error, 'string');
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  const [{ count }] = await env.resources.sql`SELECT count(*)::int AS count FROM users WHERE email = 'late@example.com'`;
  t.equal(count, 0, 'a limited registration creates nothing');

  // Login is counted separately.
  const login = await env.request('POST', '/api/auth/login', { json: badLogin });
  t.equal(login.status, 401, 'login unaffected by the register limit');
  t.equal(login.headers['x-ratelimit-remaining'], String(limits.login.max - 1));
});

t.test('the limit holds across API nodes (shared Redis counters)', async (t) => {
  const env = await setup(t, { RATE_LIMIT_ENABLED: 'true' });
  const other = await buildApp(env.resources);
  t.teardown(() => other.close());
  const max = limits.login.max;
  // Alternate between the two nodes: together they allow `max`, not 2 × max.
  for (let i = 1; i <= max; i++) {
    const res = i % 2
      ? (await env.request('POST', '/api/auth/login', { json: badLogin })).status
      : (await other.inject({ method: 'POST', url: '/api/auth/login', payload: badLogin })).statusCode;
    t.equal(res, 401, `attempt ${i}`);
  }
  const a = await env.request('POST', '/api/auth/login', { json: badLogin });
  const b = await other.inject({ method: 'POST', url: '/api/auth/login', payload: badLogin });
  t.equal(a.status, 429, 'node A limited');
  t.equal(b.statusCode, 429, 'node B limited');
});

t.test('with rate limiting disabled (the test default) there is never a 429', async (t) => {
  const env = await setup(t);
  t.equal(env.config.rateLimitEnabled, false);
  const attempts = limits.login.max * 2 + 5;
  const statuses = new Set<number>();
  for (let i = 0; i < attempts; i++) {
    // Invalid input keeps this cheap; it would count towards the limit if one applied.
    const res = await env.request('POST', '/api/auth/login', { json: { email: 'x@example.com' } });
    statuses.add(res.status);
    t.notOk(res.headers['x-ratelimit-limit'], `attempt ${i + 1}: no limit headers`);
  }
  t.same([...statuses], [400], 'every attempt answered normally');
  const regs = new Set<number>();
  for (let i = 0; i < limits.register.max * 2 + 2; i++) {
    regs.add((await env.request('POST', '/api/auth/register', { json: {} })).status);
  }
  t.same([...regs], [400]);
});

t.test('joining by invite is limited, so codes cannot be brute-forced', async (t) => {
  const env = await setup(t, { RATE_LIMIT_ENABLED: 'true' });
  const { cookie } = await env.register();
  for (let i = 1; i <= limits.joinServer.max; i++) {
    const res = await env.request('POST', '/api/servers/join', { cookie, json: { code: `GUESS${i}` } });
    t.equal(res.status, 404, `guess ${i}`);
  }
  const limited = await env.request('POST', '/api/servers/join', { cookie, json: { code: 'GUESSMORE' } });
  t.equal(limited.status, 429);
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
});

t.test('opening DMs and creating group DMs are limited, so a user cannot spam dm_created', async (t) => {
  const env = await setup(t, { RATE_LIMIT_ENABLED: 'true' });
  const { cookie } = await env.register();
  const { user: other } = await env.register('other');
  const missing = '9000000000000000001';
  for (let i = 1; i <= limits.openDm.max; i++) {
    const res = await env.request('POST', '/api/dm', { cookie, json: { recipientId: missing } });
    t.equal(res.status, 404, `open ${i}`);
  }
  const limited = await env.request('POST', '/api/dm', { cookie, json: { recipientId: other.id } });
  t.equal(limited.status, 429, 'a real recipient too, once over the limit');
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  const [{ count }] = await env.resources.sql`SELECT count(*)::int AS count FROM channel_members WHERE user_id = ${other.id}`;
  t.equal(count, 0, 'a limited open creates no conversation');

  for (let i = 1; i <= limits.createGroupDm.max; i++) {
    const res = await env.request('POST', '/api/group-dm', { cookie, json: { memberIds: [missing] } });
    t.equal(res.status, 400, `group ${i} (an unknown member)`);
  }
  const groupLimited = await env.request('POST', '/api/group-dm', { cookie, json: { memberIds: [other.id] } });
  t.equal(groupLimited.status, 429);
});
