import t from 'tap';
import { buildApp } from '@nexusguild/api';
import { setup } from '../../../../test/harness.ts';

const ALLOWED = 'https://app.example.com';
const HOST = 'nexus.example.com';
const env = await setup(t, { CORS_ORIGINS: ALLOWED });
const login = { email: 'nobody@example.com', password: 'wrong-password' };

t.test('state-changing requests from a foreign Origin are 403 JSON', async (t) => {
  const { cookie, user, password } = await env.register('csrf');
  const foreign = ['https://evil.example', 'null', `https://${HOST}.evil.example`, `https://${HOST}:8443`, 'http://app.example.com', 'https://app.example.com.evil.example', 'not a url'];
  for (const origin of foreign) {
    const headers = { origin, host: HOST };
    const res = await env.request('POST', '/api/auth/login', { json: { email: user.email, password }, headers });
    t.equal(res.status, 403, `${origin}: login refused`);
    t.match(String(res.headers['content-type']), /^application\/json/, `${origin}: JSON`);
    t.same(res.body, { error: 'Origin not allowed' });
    t.notOk(res.cookie, `${origin}: no session`);
    t.notOk(res.headers['access-control-allow-origin'], `${origin}: no CORS grant`);
  }

  // A logged-in victim's browser posting from another site: refused, and the session survives.
  const logout = await env.request('POST', '/api/auth/logout', { cookie, headers: { origin: 'https://evil.example', host: HOST } });
  t.equal(logout.status, 403, 'cross-site logout refused');
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 200, 'session still valid');

  const register = await env.request('POST', '/api/auth/register', {
    json: { username: 'csrf_victim', email: 'csrf_victim@example.com', password: 'password123' },
    headers: { origin: 'https://evil.example', host: HOST },
  });
  t.equal(register.status, 403, 'cross-site register refused');
  const [{ count }] = await env.resources.sql`SELECT count(*)::int AS count FROM users WHERE email = 'csrf_victim@example.com'`;
  t.equal(count, 0, 'nothing created');

  for (const method of ['PUT', 'PATCH', 'DELETE']) {
    const res = await env.request(method, '/api/auth/me', { cookie, headers: { origin: 'https://evil.example', host: HOST } });
    t.equal(res.status, 403, `${method} from a foreign origin refused`);
  }
});

t.test('same-host Origin and requests without an Origin are allowed', async (t) => {
  for (const origin of [`https://${HOST}`, `http://${HOST}`]) {
    const res = await env.request('POST', '/api/auth/login', { json: login, headers: { origin, host: HOST } });
    t.equal(res.status, 401, `${origin}: reaches the route`);
    t.same(res.body, { error: 'Invalid credentials' });
    t.notOk(res.headers['access-control-allow-origin'], 'same-origin needs no CORS headers');
  }
  const withPort = await env.request('POST', '/api/auth/login', { json: login, headers: { origin: 'http://localhost:3000', host: 'localhost:3000' } });
  t.equal(withPort.status, 401, 'same host and port');

  const reg = await env.request('POST', '/api/auth/register', {
    json: { username: 'same_origin', email: 'same_origin@example.com', password: 'password123' },
    headers: { origin: `https://${HOST}`, host: HOST },
  });
  t.equal(reg.status, 201, 'same-origin register works');
  const out = await env.request('POST', '/api/auth/logout', { cookie: reg.cookie, headers: { origin: `https://${HOST}`, host: HOST } });
  t.equal(out.status, 200, 'same-origin logout works');

  const noOrigin = await env.request('POST', '/api/auth/login', { json: login });
  t.equal(noOrigin.status, 401, 'no Origin (curl, native apps): allowed');
});

t.test('safe methods from a foreign Origin pass but get no CORS grant', async (t) => {
  const { cookie } = await env.register('read');
  const me = await env.request('GET', '/api/auth/me', { cookie, headers: { origin: 'https://evil.example', host: HOST } });
  t.equal(me.status, 200, 'GET is not refused');
  t.notOk(me.headers['access-control-allow-origin'], 'but the browser is not allowed to read it');
  t.notOk(me.headers['access-control-allow-credentials']);

  const preflight = await env.request('OPTIONS', '/api/auth/login', {
    headers: { origin: 'https://evil.example', host: HOST, 'access-control-request-method': 'POST' },
  });
  t.not(preflight.status, 204, 'no successful preflight for a foreign origin');
  t.notOk(preflight.headers['access-control-allow-origin']);
  t.notOk(preflight.headers['access-control-allow-methods']);
});

t.test('an origin in CORS_ORIGINS gets CORS with credentials', async (t) => {
  t.same(env.config.corsOrigins, [ALLOWED]);
  const headers = { origin: ALLOWED, host: HOST };

  const preflight = await env.request('OPTIONS', '/api/auth/login', {
    headers: { ...headers, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-request-id' },
  });
  t.equal(preflight.status, 204, 'preflight answered 204');
  t.equal(preflight.headers['access-control-allow-origin'], ALLOWED);
  t.equal(preflight.headers['access-control-allow-credentials'], 'true');
  t.match(String(preflight.headers['access-control-allow-methods']), /POST/);
  t.match(String(preflight.headers['access-control-allow-methods']), /DELETE/);
  t.match(String(preflight.headers['access-control-allow-headers']).toLowerCase(), /content-type/);
  t.match(String(preflight.headers.vary), /Origin/i, 'Vary: Origin');
  t.equal(preflight.body, '', 'no body');

  // Preflight for a route that takes no session and for one that does: both answered, no 401.
  const mePreflight = await env.request('OPTIONS', '/api/auth/me', { headers: { ...headers, 'access-control-request-method': 'GET' } });
  t.equal(mePreflight.status, 204, 'preflight needs no session');

  const reg = await env.request('POST', '/api/auth/register', {
    json: { username: 'cors_user', email: 'cors_user@example.com', password: 'password123' },
    headers,
  });
  t.equal(reg.status, 201, 'cross-origin register from the allowed origin');
  t.equal(reg.headers['access-control-allow-origin'], ALLOWED);
  t.equal(reg.headers['access-control-allow-credentials'], 'true');
  t.ok(reg.cookie, 'session cookie set');

  const me = await env.request('GET', '/api/auth/me', { cookie: reg.cookie, headers });
  t.equal(me.status, 200);
  t.equal(me.headers['access-control-allow-origin'], ALLOWED);

  // Errors carry the grant too, so the client can read them.
  const bad = await env.request('POST', '/api/auth/login', { json: login, headers });
  t.equal(bad.status, 401);
  t.equal(bad.headers['access-control-allow-origin'], ALLOWED, 'error replies are readable cross-origin');
  const missing = await env.request('GET', '/api/nope', { headers });
  t.equal(missing.status, 404);
  t.equal(missing.headers['access-control-allow-origin'], ALLOWED);

  const out = await env.request('POST', '/api/auth/logout', { cookie: reg.cookie, headers });
  t.equal(out.status, 200, 'cross-origin logout from the allowed origin');
});

t.test('without CORS_ORIGINS the same origin is foreign', async (t) => {
  const plain = await buildApp({ ...env.resources, config: { ...env.resources.config, corsOrigins: [] } });
  t.teardown(() => plain.close());
  const res = await plain.inject({ method: 'POST', url: '/api/auth/login', payload: login, headers: { origin: ALLOWED, host: HOST } });
  t.equal(res.statusCode, 403);
  t.notOk(res.headers['access-control-allow-origin']);
  const preflight = await plain.inject({ method: 'OPTIONS', url: '/api/auth/login', headers: { origin: ALLOWED, host: HOST, 'access-control-request-method': 'POST' } });
  t.not(preflight.statusCode, 204);
  t.notOk(preflight.headers['access-control-allow-origin']);
});
