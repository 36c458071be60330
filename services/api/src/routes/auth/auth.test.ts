import t, { type Test } from 'tap';
import { assertError, setup, type Reply } from '../../../../../test/harness.ts';

const env = await setup(t);

const USER_KEYS = ['avatar', 'created_at', 'custom_status', 'email', 'id', 'status', 'username'];

/** The session id inside a "connect.sid=<signed>" cookie: the part before the last '.', url-decoded. */
function sidOf(cookie: string): string {
  const signed = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return signed.slice(0, signed.lastIndexOf('.'));
}

function setCookies(res: Reply): string[] {
  return [res.headers['set-cookie'] ?? []].flat();
}

let seq = 0;
/** A unique, valid registration body. */
function fresh(overrides: Record<string, unknown> = {}) {
  seq += 1;
  const username = `auth${seq}_${Date.now().toString(36)}`;
  return { username, email: `${username}@example.com`, password: 'password123', ...overrides };
}

/** `assertError`, and the body is JSON without a stack trace. */
function assertErrorBody(t: Test, res: Reply, status: number) {
  assertError(t, res, status);
  t.match(String(res.headers['content-type']), /^application\/json/, 'JSON content type');
  t.notOk(JSON.stringify(res.body).includes('    at '), 'no stack trace');
}

t.test('register returns the user object and a session cookie', async (t) => {
  const res = await env.request('POST', '/api/auth/register', {
    json: { username: '  Alice ', email: 'Alice@Example.com', password: 'password123' },
  });
  t.equal(res.status, 201);
  t.same(Object.keys(res.body).sort(), USER_KEYS);
  t.equal(res.body.username, 'Alice');
  t.equal(res.body.email, 'alice@example.com');
  t.match(res.body.id, /^\d{1,20}$/);
  t.ok(res.cookie);
  const me = await env.request('GET', '/api/auth/me', { cookie: res.cookie });
  t.equal(me.status, 200);
  t.equal(me.body.id, res.body.id);
});

t.test('register: the user object has exactly the documented fields and never the hash', async (t) => {
  const body = fresh();
  const res = await env.request('POST', '/api/auth/register', { json: body });
  t.equal(res.status, 201);
  t.same(Object.keys(res.body).sort(), USER_KEYS);
  t.equal(res.body.avatar, null);
  t.equal(res.body.custom_status, null);
  t.equal(res.body.status, 'online');
  t.type(res.body.id, 'string', 'id is a string, not a number');
  t.ok(!Number.isNaN(Date.parse(res.body.created_at)), 'created_at is a date');
  t.match(res.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'created_at is ISO-8601 UTC');
  t.ok(Math.abs(Date.parse(res.body.created_at) - Date.now()) < 60_000, 'created_at is now');
  t.notOk(JSON.stringify(res.body).includes('password'), 'no password field');
  t.notOk(JSON.stringify(res.body).includes('$argon2'), 'no hash value');

  // The hash is stored, and is not the password itself.
  const [row] = await env.resources.sql`SELECT password_hash FROM users WHERE id = ${res.body.id}`;
  t.ok(row.password_hash, 'hash stored');
  t.not(row.password_hash, body.password, 'password is not stored in clear');

  const me = await env.request('GET', '/api/auth/me', { cookie: res.cookie });
  t.equal(me.status, 200);
  t.same(Object.keys(me.body).sort(), USER_KEYS);
  t.same(me.body, res.body, '/me returns the same user object');

  const login = await env.request('POST', '/api/auth/login', { json: { email: body.email, password: body.password } });
  t.equal(login.status, 200);
  t.same(Object.keys(login.body).sort(), USER_KEYS);
  t.same(login.body, res.body, 'login returns the same user object');
  t.notOk(JSON.stringify(login.body).includes('password'));
});

t.test('register: username length is 2–32 after trimming', async (t) => {
  for (const username of ['a', ' b ', '   ', 'x'.repeat(33), '']) {
    const res = await env.request('POST', '/api/auth/register', { json: fresh({ username }) });
    assertErrorBody(t, res, 400);
    t.ok(Array.isArray(res.body.details), `details for ${JSON.stringify(username)}`);
    t.ok(res.body.details?.some((d: { field: string }) => d.field === 'username'), `details name username for ${JSON.stringify(username)}`);
    t.notOk(res.cookie, 'no session on failure');
  }
  const two = 'bz';
  const okTwo = await env.request('POST', '/api/auth/register', { json: fresh({ username: two }) });
  t.equal(okTwo.status, 201, '2 characters is fine');
  t.equal(okTwo.body.username, two);

  const long = `L${Date.now().toString(36)}`.padEnd(32, 'q');
  const ok32 = await env.request('POST', '/api/auth/register', { json: fresh({ username: `   ${long}\t ` }) });
  t.equal(ok32.status, 201, '32 characters plus surrounding whitespace is fine');
  t.equal(ok32.body.username, long, 'stored trimmed');

  // Length counts characters, not UTF-16 units, and the column must hold what validation admits.
  const emoji = '😀'.repeat(31) + String.fromCodePoint(0x1f600 + (Date.now() % 50));
  const okEmoji = await env.request('POST', '/api/auth/register', { json: fresh({ username: emoji }) });
  t.equal(okEmoji.status, 201, '32 astral characters are 32 characters');
  t.equal(okEmoji.body.username, emoji);
});

t.test('register: usernames with @ or # or control characters are refused', async (t) => {
  for (const username of ['al@ce', '#alice', 'ali#ce1', '@everyone', 'tab\there', 'nul\u0000x']) {
    const res = await env.request('POST', '/api/auth/register', { json: fresh({ username }) });
    assertErrorBody(t, res, 400);
    t.ok(res.body.details?.some((d: { field: string }) => d.field === 'username'), `details name username for ${JSON.stringify(username)}`);
  }
  const spaced = await env.request('POST', '/api/auth/register', { json: fresh({ username: `Jo Doe.${seq}-x_y` }) });
  t.equal(spaced.status, 201, 'inner spaces, dots, dashes and underscores are fine');
});

t.test('register: non-printable C1 control characters are refused in usernames', async (t) => {
  for (const username of ['ab\u0085cd', 'x\u009by', '\u0080abc']) {
    const res = await env.request('POST', '/api/auth/register', { json: fresh({ username }) });
    assertErrorBody(t, res, 400);
    t.ok(res.body.details?.some((d: { field: string }) => d.field === 'username'), `details name username for ${JSON.stringify(username)}`);
  }
  const accented = await env.request('POST', '/api/auth/register', { json: fresh({ username: `Zoë_Ñandú_${seq}` }) });
  t.equal(accented.status, 201, 'printable non-ASCII is fine');
});

t.test('register: fields the client may not set are ignored', async (t) => {
  const res = await env.request('POST', '/api/auth/register', {
    json: { ...fresh(), id: '1', avatar: 'https://evil.example/x.png', status: 'offline', custom_status: 'hi', created_at: '2000-01-01T00:00:00.000Z', password_hash: 'x' },
  });
  t.equal(res.status, 201);
  t.not(res.body.id, '1');
  t.equal(res.body.avatar, null);
  t.equal(res.body.custom_status, null);
  t.equal(res.body.status, 'online');
  t.not(res.body.created_at, '2000-01-01T00:00:00.000Z');
});

t.test('register: email must be valid', async (t) => {
  for (const email of ['not-an-email', 'a@', '@example.com', 'a b@example.com', '', `${'x'.repeat(250)}@example.com`]) {
    const res = await env.request('POST', '/api/auth/register', { json: fresh({ email }) });
    assertErrorBody(t, res, 400);
    t.ok(res.body.details?.some((d: { field: string }) => d.field === 'email'), `details name email for ${JSON.stringify(email)}`);
  }
});

t.test('register: password is 8–128 characters', async (t) => {
  for (const password of ['x'.repeat(7), 'y'.repeat(129), '']) {
    const res = await env.request('POST', '/api/auth/register', { json: fresh({ password }) });
    assertErrorBody(t, res, 400);
    t.ok(res.body.details?.some((d: { field: string }) => d.field === 'password'), `details name password (${password.length})`);
  }
  for (const password of ['p'.repeat(8), 'q'.repeat(128)]) {
    const body = fresh({ password });
    const res = await env.request('POST', '/api/auth/register', { json: body });
    t.equal(res.status, 201, `${password.length} characters is fine`);
    const login = await env.request('POST', '/api/auth/login', { json: { email: body.email, password } });
    t.equal(login.status, 200, `can log in with the ${password.length}-character password`);
  }
});

t.test('register: missing fields and non-object bodies are 400 JSON, never 500', async (t) => {
  const full = fresh();
  for (const missing of ['username', 'email', 'password'] as const) {
    const body: Record<string, unknown> = { ...full };
    delete body[missing];
    const res = await env.request('POST', '/api/auth/register', { json: body });
    assertErrorBody(t, res, 400);
    t.ok(res.body.details?.some((d: { field: string }) => d.field === missing), `details name ${missing}`);
  }
  const empty = await env.request('POST', '/api/auth/register', { json: {} });
  assertErrorBody(t, empty, 400);

  for (const raw of ['[]', '[{"username":"abc"}]', '"alice"', 'null', '42', 'true']) {
    for (const path of ['/api/auth/register', '/api/auth/login']) {
      const res = await env.request('POST', path, { payload: raw, headers: { 'content-type': 'application/json' } });
      assertErrorBody(t, res, 400);
      t.notOk(res.cookie, `no session for ${raw} on ${path}`);
    }
  }

  const wrongTypes = await env.request('POST', '/api/auth/register', {
    json: { username: { first: 'a' }, email: ['x@example.com', 'y@example.com'], password: null },
  });
  assertErrorBody(t, wrongTypes, 400);

  // Nothing was created by any of the above.
  const [{ count }] = await env.resources.sql`SELECT count(*)::int AS count FROM users WHERE username = ${full.username}`;
  t.equal(count, 0);
});

t.test('register: duplicate email or username (case-insensitive) is 409', async (t) => {
  const first = fresh();
  const created = await env.request('POST', '/api/auth/register', { json: first });
  t.equal(created.status, 201);

  const sameEmail = await env.request('POST', '/api/auth/register', {
    json: fresh({ email: `  ${first.email.toUpperCase()} ` }),
  });
  assertErrorBody(t, sameEmail, 409);
  t.notOk(sameEmail.cookie, 'no session for a conflict');

  const sameName = await env.request('POST', '/api/auth/register', {
    json: fresh({ username: first.username.toUpperCase() }),
  });
  assertErrorBody(t, sameName, 409);

  const sameNameTrimmed = await env.request('POST', '/api/auth/register', {
    json: fresh({ username: ` ${first.username} ` }),
  });
  assertErrorBody(t, sameNameTrimmed, 409);

  const [{ count }] = await env.resources.sql`SELECT count(*)::int AS count FROM users WHERE lower(username) = lower(${first.username}) OR email = ${first.email}`;
  t.equal(count, 1, 'still exactly one account');

  // A race between two identical registrations: one wins, the other gets 409 (not 500).
  const race = fresh();
  const results = await Promise.all([
    env.request('POST', '/api/auth/register', { json: race }),
    env.request('POST', '/api/auth/register', { json: { ...race, email: race.email.toUpperCase() } }),
  ]);
  t.same(results.map((r) => r.status).sort(), [201, 409]);
});

t.test('login: email is case-insensitive and a new session id is issued', async (t) => {
  const body = fresh();
  const reg = await env.request('POST', '/api/auth/register', { json: body });
  t.equal(reg.status, 201);

  const login = await env.request('POST', '/api/auth/login', {
    json: { email: ` ${body.email.toUpperCase()} `, password: body.password },
    cookie: reg.cookie,
  });
  t.equal(login.status, 200);
  t.equal(login.body.id, reg.body.id);
  t.equal(login.body.status, 'online');
  t.ok(login.cookie, 'login sets a cookie');
  t.not(login.cookie, reg.cookie, 'cookie differs from the one register set');
  t.not(sidOf(login.cookie!), sidOf(reg.cookie!), 'new session id');

  // Logging in over an existing session replaces it (no fixation): the old id is gone.
  t.equal(await env.resources.redis.exists(env.resources.keys.session(sidOf(reg.cookie!))), 0, 'old session destroyed');
  t.equal((await env.request('GET', '/api/auth/me', { cookie: reg.cookie })).status, 401, 'old cookie no longer works');
  const me = await env.request('GET', '/api/auth/me', { cookie: login.cookie });
  t.equal(me.status, 200);
  t.equal(me.body.id, reg.body.id);

  // A second login without a cookie is yet another session; both stay valid.
  const again = await env.request('POST', '/api/auth/login', { json: { email: body.email, password: body.password } });
  t.equal(again.status, 200);
  t.not(sidOf(again.cookie!), sidOf(login.cookie!));
  t.equal((await env.request('GET', '/api/auth/me', { cookie: login.cookie })).status, 200, 'first login still valid');
  t.equal((await env.request('GET', '/api/auth/me', { cookie: again.cookie })).status, 200, 'second login valid');
});

t.test('login: wrong password and unknown email are 401 Invalid credentials', async (t) => {
  const body = fresh();
  t.equal((await env.request('POST', '/api/auth/register', { json: body })).status, 201);

  const wrong = await env.request('POST', '/api/auth/login', { json: { email: body.email, password: 'password124' } });
  assertErrorBody(t, wrong, 401);
  t.same(wrong.body, { error: 'Invalid credentials' });
  t.notOk(wrong.cookie, 'no session on a wrong password');

  const caseChanged = await env.request('POST', '/api/auth/login', { json: { email: body.email, password: body.password.toUpperCase() } });
  t.equal(caseChanged.status, 401, 'passwords are case-sensitive');

  const unknown = await env.request('POST', '/api/auth/login', { json: { email: `nobody-${seq}@example.com`, password: body.password } });
  assertErrorBody(t, unknown, 401);
  t.same(unknown.body, { error: 'Invalid credentials' }, 'same answer as a wrong password');
  t.notOk(unknown.cookie);
});

t.test('passwords are used exactly as given (not trimmed)', async (t) => {
  const body = fresh({ password: '  spaced pass  ' });
  t.equal((await env.request('POST', '/api/auth/register', { json: body })).status, 201);
  const trimmed = await env.request('POST', '/api/auth/login', { json: { email: body.email, password: 'spaced pass' } });
  t.equal(trimmed.status, 401, 'trimmed password is wrong');
  const exact = await env.request('POST', '/api/auth/login', { json: { email: body.email, password: '  spaced pass  ' } });
  t.equal(exact.status, 200, 'exact password works');
});

t.test('login: invalid input is 400', async (t) => {
  for (const json of [{ email: 'x@example.com' }, { password: 'password123' }, { email: 'nope', password: 'password123' }, { email: 'x@example.com', password: '' }]) {
    const res = await env.request('POST', '/api/auth/login', { json });
    assertErrorBody(t, res, 400);
    t.ok(Array.isArray(res.body.details), `details for ${JSON.stringify(json)}`);
  }
});

t.test('me: 401 without a session, 404 when the account is gone', async (t) => {
  const none = await env.request('GET', '/api/auth/me');
  assertErrorBody(t, none, 401);
  t.same(none.body, { error: 'Authentication required' });

  const { user, cookie } = await env.register('gone');
  await env.resources.sql`DELETE FROM users WHERE id = ${user.id}`;
  const me = await env.request('GET', '/api/auth/me', { cookie });
  assertErrorBody(t, me, 404);
});

t.test('logout ends the session', async (t) => {
  const { cookie } = await env.register('bye');
  const key = env.resources.keys.session(sidOf(cookie));
  t.equal(await env.resources.redis.exists(key), 1, 'session is in Redis');

  const out = await env.request('POST', '/api/auth/logout', { cookie });
  t.equal(out.status, 200);
  t.same(out.body, { message: 'Logout successful' });
  const cleared = setCookies(out).find((c) => c.startsWith('connect.sid='));
  t.ok(cleared, 'logout sends a cookie that clears the session cookie');
  t.match(cleared, /^connect\.sid=;/, 'with an empty value');
  const expires = /Expires=([^;]+)/i.exec(cleared ?? '')?.[1];
  t.ok(expires && Date.parse(expires) <= Date.now(), 'already expired');

  t.equal(await env.resources.redis.exists(key), 0, 'Redis key is gone');
  const me = await env.request('GET', '/api/auth/me', { cookie });
  assertErrorBody(t, me, 401);
  const again = await env.request('POST', '/api/auth/logout', { cookie });
  assertErrorBody(t, again, 401);
});

t.test('logout without a session is 401', async (t) => {
  const res = await env.request('POST', '/api/auth/logout');
  assertErrorBody(t, res, 401);
  t.same(res.body, { error: 'Authentication required' });
});

t.test('logout ends only its own session', async (t) => {
  const { user, cookie, password } = await env.register('two');
  const other = await env.request('POST', '/api/auth/login', { json: { email: user.email, password } });
  t.equal(other.status, 200);
  t.equal((await env.request('POST', '/api/auth/logout', { cookie })).status, 200);
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 401);
  t.equal((await env.request('GET', '/api/auth/me', { cookie: other.cookie })).status, 200, 'the other login is untouched');
  t.same(await env.resources.redis.smembers(env.resources.keys.userSessions(user.id)), [sidOf(other.cookie!)], "the user's session index keeps only the live session");
});
