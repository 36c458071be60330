import t from 'tap';
import { buildApp } from '@nexusguild/api';
import { SESSION_COOKIE, SESSION_REFRESH_MS, SESSION_TTL_MS, endUserSessions, sessionCookieReader, sessionSigner } from '@nexusguild/shared/sessions';
import { setup } from '../../../../test/harness.ts';

const env = await setup(t);
const { redis, keys } = env.resources;
const DAY = 24 * 3600 * 1000;

/** The signed value inside a "connect.sid=<value>" cookie, url-decoded. */
function signedOf(cookie: string): string {
  return decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
}
/** The session id: the signed value's part before the last '.'. */
function sidOf(cookie: string): string {
  const signed = signedOf(cookie);
  return signed.slice(0, signed.lastIndexOf('.'));
}
function cookieOf(signed: string): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(signed)}`;
}
/** The full Set-Cookie line for the session cookie, if the reply has one. */
function sessionSetCookie(res: { headers: Record<string, unknown> }): string | undefined {
  return [(res.headers['set-cookie'] as string | string[] | undefined) ?? []].flat().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
}
function attributes(line: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [k, ...v] = part.trim().split('=');
    map.set(k.toLowerCase(), v.join('='));
  }
  return map;
}

t.test('the session cookie: HttpOnly, SameSite=Lax, Path=/, 30 days, not Secure by default', async (t) => {
  const reg = await env.request('POST', '/api/auth/register', {
    json: { username: 'flags_user', email: 'flags@example.com', password: 'password123' },
  });
  t.equal(reg.status, 201);
  const line = sessionSetCookie(reg);
  t.ok(line, 'register sets the session cookie');
  const attrs = attributes(line!);
  t.ok(attrs.has('httponly'), 'HttpOnly');
  t.equal(attrs.get('samesite')?.toLowerCase(), 'lax', 'SameSite=Lax');
  t.equal(attrs.get('path'), '/', 'Path=/');
  t.notOk(attrs.has('secure'), 'not Secure over plain http by default');
  t.notOk(attrs.has('domain'), 'host-only cookie');
  const expires = Date.parse(attrs.get('expires') ?? '');
  t.ok(Number.isFinite(expires), 'has Expires');
  t.ok(Math.abs(expires - (Date.now() + SESSION_TTL_MS)) < 60_000, 'Expires is ~30 days ahead');
  t.equal(SESSION_TTL_MS, 30 * DAY);

  // The cookie value is only a signed id; the data is in Redis with a ~30 day TTL.
  const sid = sidOf(reg.cookie!);
  t.match(sid, /^[A-Za-z0-9_-]{20,}$/, 'an opaque random id');
  t.notOk(signedOf(reg.cookie!).includes(reg.body.id), 'the cookie does not carry the user id');
  const ttl = await redis.pttl(keys.session(sid));
  t.ok(ttl > SESSION_TTL_MS - 60_000 && ttl <= SESSION_TTL_MS, `Redis TTL ≈ 30 days (${ttl})`);
  const stored = JSON.parse((await redis.get(keys.session(sid)))!);
  t.equal(stored.userId, reg.body.id);
  t.equal(stored.username, 'flags_user');
  t.ok(Math.abs(stored.refreshedAt - Date.now()) < 60_000, 'refreshedAt is now');

  // The gateway reads the same cookie format with the same secret.
  const reader = sessionCookieReader(redis, keys, env.config.sessionSecret);
  const read = await reader.read(`other=1; ${reg.cookie}`);
  t.equal(read?.sid, sid);
  t.equal(read?.data.userId, reg.body.id);

  // Login sets the same flags.
  const login = await env.request('POST', '/api/auth/login', { json: { email: 'flags@example.com', password: 'password123' } });
  const loginAttrs = attributes(sessionSetCookie(login)!);
  t.ok(loginAttrs.has('httponly'));
  t.equal(loginAttrs.get('samesite')?.toLowerCase(), 'lax');
  t.equal(loginAttrs.get('path'), '/');
  t.notOk(loginAttrs.has('secure'));
});

t.test('with COOKIE_SECURE behind a TLS proxy the cookie is Secure', async (t) => {
  const secure = await setup(t, { COOKIE_SECURE: 'true', TRUST_PROXY: 'true' });
  const reg = await secure.request('POST', '/api/auth/register', {
    json: { username: 'secure_user', email: 'secure@example.com', password: 'password123' },
    headers: { 'x-forwarded-proto': 'https' },
  });
  t.equal(reg.status, 201);
  const line = sessionSetCookie(reg);
  t.ok(line, 'cookie set over https');
  const attrs = attributes(line!);
  t.ok(attrs.has('secure'), 'Secure');
  t.ok(attrs.has('httponly'), 'HttpOnly');
  t.equal(attrs.get('samesite')?.toLowerCase(), 'lax');
  const me = await secure.request('GET', '/api/auth/me', { cookie: reg.cookie, headers: { 'x-forwarded-proto': 'https' } });
  t.equal(me.status, 200);

  // A Secure cookie is never handed out over plain http.
  const plain = await secure.request('POST', '/api/auth/login', { json: { email: 'secure@example.com', password: 'password123' } });
  t.equal(plain.status, 200);
  t.notOk(sessionSetCookie(plain), 'no session cookie over plain http');
});

t.test('rolling expiry: a session older than a day is refreshed, a fresh one is not rewritten', async (t) => {
  t.equal(SESSION_REFRESH_MS, DAY);
  const { cookie, user } = await env.register('roll');
  const key = keys.session(sidOf(cookie));

  // Fresh session: shorten its TTL, make a request, and check nothing was written back.
  await redis.pexpire(key, 3600_000);
  const fresh = await env.request('GET', '/api/auth/me', { cookie });
  t.equal(fresh.status, 200);
  t.notOk(sessionSetCookie(fresh), 'no Set-Cookie for a fresh session');
  t.ok((await redis.pttl(key)) <= 3600_000, 'TTL untouched: no Redis write per request');

  // A session last refreshed two days ago and close to expiring.
  const stored = JSON.parse((await redis.get(key))!);
  const old = Date.now() - 2 * DAY;
  await redis.set(key, JSON.stringify({ ...stored, refreshedAt: old }), 'PX', 3600_000);

  const before = Date.now();
  const refreshed = await env.request('GET', '/api/auth/me', { cookie });
  t.equal(refreshed.status, 200);
  t.equal(refreshed.body.id, user.id);
  const line = sessionSetCookie(refreshed);
  t.ok(line, 'Set-Cookie came back');
  t.equal(line!.split(';')[0], cookie, 'same session id, same cookie value');
  const expires = Date.parse(attributes(line!).get('expires') ?? '');
  t.ok(Math.abs(expires - (Date.now() + SESSION_TTL_MS)) < 60_000, 'cookie Expires pushed ~30 days ahead');
  const ttl = await redis.pttl(key);
  t.ok(ttl > SESSION_TTL_MS - 60_000 && ttl <= SESSION_TTL_MS, `Redis TTL is again ≈ 30 days (${ttl})`);
  const after = JSON.parse((await redis.get(key))!);
  t.ok(after.refreshedAt >= before, 'refreshedAt moved to now');
  t.equal(after.userId, user.id, 'session data kept');

  // Right after a refresh, the next request is ordinary again.
  const next = await env.request('GET', '/api/auth/me', { cookie });
  t.equal(next.status, 200);
  t.notOk(sessionSetCookie(next), 'no Set-Cookie right after a refresh');

  // A session without refreshedAt at all counts as old.
  const { refreshedAt: _drop, ...withoutRefresh } = after;
  await redis.set(key, JSON.stringify(withoutRefresh), 'PX', 3600_000);
  const legacy = await env.request('GET', '/api/auth/me', { cookie });
  t.equal(legacy.status, 200);
  t.ok(sessionSetCookie(legacy), 'refreshed');
  t.ok((await redis.pttl(key)) > SESSION_TTL_MS - 60_000);
});

t.test('an API node sees sessions made by another (shared Redis)', async (t) => {
  const other = await buildApp(env.resources);
  t.teardown(() => other.close());

  const { cookie, user, password } = await env.register('multi');
  const me = await other.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
  t.equal(me.statusCode, 200, 'session from node A works on node B');
  t.equal(me.json().id, user.id);

  // Log in through B, use it on A.
  const login = await other.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password } });
  t.equal(login.statusCode, 200);
  const setCookie = sessionSetCookie(login);
  t.ok(setCookie);
  const cookieB = setCookie!.split(';')[0];
  const onA = await env.request('GET', '/api/auth/me', { cookie: cookieB });
  t.equal(onA.status, 200, 'session from node B works on node A');
  t.equal(onA.body.id, user.id);

  // Logging out on A ends the session on B too.
  t.equal((await env.request('POST', '/api/auth/logout', { cookie: cookieB })).status, 200);
  const gone = await other.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: cookieB } });
  t.equal(gone.statusCode, 401);
});

t.test('bad cookies are refused with 401, never 500', async (t) => {
  const { cookie } = await env.register('forge');
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 200, 'the real cookie works');
  const signed = signedOf(cookie);
  const dot = signed.lastIndexOf('.');
  const sid = signed.slice(0, dot);
  const sig = signed.slice(dot + 1);

  async function refused(label: string, bad: string) {
    const res = await env.request('GET', '/api/auth/me', { cookie: bad });
    t.equal(res.status, 401, label);
    t.match(String(res.headers['content-type']), /^application\/json/, `${label}: JSON`);
    t.same(res.body, { error: 'Authentication required' }, `${label}: error body`);
    // The bad cookie may be cleared, but no new session is handed out.
    const line = sessionSetCookie(res);
    t.ok(!line || line.startsWith(`${SESSION_COOKIE}=;`), `${label}: no new session handed out`);
  }

  // One character of the signature changed (the first, so it cannot hide in base64 padding bits).
  const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
  await refused('forged signature', cookieOf(`${sid}.${flipped}`));
  await refused('truncated signature', cookieOf(`${sid}.${sig.slice(0, -1)}`));
  await refused('signature dropped', cookieOf(sid));
  await refused('empty signature', cookieOf(`${sid}.`));
  await refused('signed with another secret', cookieOf(sessionSigner('another-secret-another-secret-0123456789').sign(sid)));
  // A correctly signed id that was never a session.
  await refused('unknown session id', cookieOf(sessionSigner(env.config.sessionSecret).sign('made-up-session-id-000000000')));
  for (const garbage of ['', '.', 'a.b.c', '%', '%E0%A4%A', 'x'.repeat(5000), '"quoted"']) {
    await refused(`garbage ${JSON.stringify(garbage.slice(0, 12))}`, `${SESSION_COOKIE}=${garbage}`);
  }

  // Still valid after all that.
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 200);

  // The Redis key expired (deleted): the still validly signed cookie no longer works.
  await redis.del(keys.session(sid));
  await refused('expired session', cookie);

  // A Redis entry without a user (e.g. a half-made session) is not a login.
  await redis.set(keys.session(sid), JSON.stringify({ cookie: { originalMaxAge: SESSION_TTL_MS } }), 'PX', 60_000);
  await refused('session without a user', cookie);

  // An unreadable Redis entry is no session (and does not hang the request).
  await redis.set(keys.session(sid), '{not json', 'PX', 60_000);
  await refused('corrupt session entry', cookie);
});

t.test('a client-chosen session id is never adopted (no fixation)', async (t) => {
  const { user, password } = await env.register('fix');
  const planted = 'attacker-chosen-session-id-0123456789';
  const plantedCookie = cookieOf(sessionSigner(env.config.sessionSecret).sign(planted));
  const login = await env.request('POST', '/api/auth/login', { json: { email: user.email, password }, cookie: plantedCookie });
  t.equal(login.status, 200);
  t.ok(login.cookie);
  t.not(sidOf(login.cookie!), planted, 'a fresh id is issued');
  t.equal(await redis.exists(keys.session(planted)), 0, 'nothing stored under the planted id');
  t.equal((await env.request('GET', '/api/auth/me', { cookie: plantedCookie })).status, 401, 'the planted cookie is not logged in');
});

t.test('a session whose stored cookie expiry has passed is not accepted', async (t) => {
  const { cookie } = await env.register('stale');
  const key = keys.session(sidOf(cookie));
  const stored = JSON.parse((await redis.get(key))!);
  const past = new Date(Date.now() - 1000).toISOString();
  await redis.set(key, JSON.stringify({ ...stored, cookie: { ...stored.cookie, expires: past, originalExpires: past } }), 'PX', 60_000);
  const res = await env.request('GET', '/api/auth/me', { cookie });
  t.equal(res.status, 401);
  t.equal(await redis.exists(key), 0, 'the expired session was removed');
});

t.test('endUserSessions ends every session of a user but the one kept', async (t) => {
  const { user, cookie, password } = await env.register('ender');
  const login = () => env.request('POST', '/api/auth/login', { json: { email: user.email, password } });
  const [second, third] = [await login(), await login()];
  const other = await env.register('bystander');
  const sid = (c: string) => decodeURIComponent(c.split('=')[1]).replace(/\.[^.]*$/, '');
  const ended = await endUserSessions(env.resources.redis, env.resources.keys, user.id, sid(cookie));
  t.same(ended.sort(), [sid(second.cookie!), sid(third.cookie!)].sort());
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 200, 'the kept session works');
  t.equal((await env.request('GET', '/api/auth/me', { cookie: second.cookie })).status, 401);
  t.equal((await env.request('GET', '/api/auth/me', { cookie: third.cookie })).status, 401);
  t.equal((await env.request('GET', '/api/auth/me', { cookie: other.cookie })).status, 200, 'other users are untouched');
});
