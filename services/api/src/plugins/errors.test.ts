import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { buildApp } from '@nexusguild/api';
import { createSql } from '@nexusguild/shared/db/index';
import { setup, type Reply } from '../../../../test/harness.ts';

const env = await setup(t);

/** Every error reply: the status, JSON, an `error` string, and nothing internal. */
function assertJsonError(t: Test, res: Pick<Reply, 'status' | 'headers' | 'body'>, status: number, label = '') {
  t.equal(res.status, status, `${label} status ${status}`);
  t.match(String(res.headers['content-type']), /^application\/json/, `${label} is JSON`);
  t.type(res.body, 'object', `${label} body parsed as JSON`);
  t.type(res.body?.error, 'string', `${label} has an error string`);
  t.ok(res.body?.error.length > 0, `${label} error is not empty`);
  const text = JSON.stringify(res.body);
  t.notMatch(text, /\bat [^ ]+ \(|node_modules|\.ts:\d+|stack/i, `${label} no stack trace`);
  t.notMatch(text, /<html|<!doctype/i, `${label} no HTML`);
}

const validRegister = () => ({ username: `err_${Date.now().toString(36)}`, email: `err_${Date.now().toString(36)}@example.com`, password: 'password123' });

t.test('malformed JSON is 400 JSON', async (t) => {
  for (const raw of ['{', '{"username": "a",}', "{'a': 1}", '{"a": undefined}', 'nope']) {
    const res = await env.request('POST', '/api/auth/register', { payload: raw, headers: { 'content-type': 'application/json' } });
    assertJsonError(t, res, 400, JSON.stringify(raw));
  }
  // Prototype pollution attempts are refused by the parser, not merged into anything.
  const proto = await env.request('POST', '/api/auth/login', {
    payload: '{"email":"a@example.com","password":"x","__proto__":{"admin":true}}',
    headers: { 'content-type': 'application/json' },
  });
  assertJsonError(t, proto, 400, '__proto__');
  t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched');
  // A JSON content type with no body at all.
  const empty = await env.request('POST', '/api/auth/login', { payload: '', headers: { 'content-type': 'application/json' } });
  assertJsonError(t, empty, 400, 'empty body');
});

t.test('unknown routes are 404 JSON', async (t) => {
  for (const [method, path] of [['GET', '/api/nope'], ['POST', '/api/nope'], ['DELETE', '/api/auth/me'], ['GET', '/'], ['GET', '/api/auth/me/extra']]) {
    const res = await env.request(method, path);
    assertJsonError(t, res, 404, `${method} ${path}`);
  }
  const unknown = await env.request('GET', '/api/definitely-not-here?x=1');
  t.match(unknown.body.error, /not found/i);
  t.notMatch(unknown.body.error, /\?x=1/, 'query string not echoed');
});

t.test('a JSON body over 64 KiB is 413', async (t) => {
  const big = JSON.stringify({ ...validRegister(), username: 'x'.repeat(65 * 1024) });
  const res = await env.request('POST', '/api/auth/register', { payload: big, headers: { 'content-type': 'application/json' } });
  assertJsonError(t, res, 413, '65 KiB');
  // Just under the limit is parsed (and then refused by validation, not by size).
  const under = JSON.stringify({ ...validRegister(), username: 'y'.repeat(60 * 1024) });
  const ok = await env.request('POST', '/api/auth/register', { payload: under, headers: { 'content-type': 'application/json' } });
  assertJsonError(t, ok, 400, '60 KiB');
});

t.test('unsupported content types are 415', async (t) => {
  const body = JSON.stringify(validRegister());
  for (const type of ['text/plain', 'application/xml', 'text/html', 'application/x-www-form-urlencoded', 'image/png']) {
    const res = await env.request('POST', '/api/auth/register', { payload: body, headers: { 'content-type': type } });
    assertJsonError(t, res, 415, type);
    t.notOk(res.cookie, `${type}: no session`);
  }
  const xml = await env.request('POST', '/api/auth/login', {
    payload: '<login><email>a@example.com</email></login>',
    headers: { 'content-type': 'application/xml' },
  });
  assertJsonError(t, xml, 415, 'xml login');
  // application/json with a charset is JSON.
  const charset = await env.request('POST', '/api/auth/register', { payload: body, headers: { 'content-type': 'application/json; charset=utf-8' } });
  t.equal(charset.status, 201, 'application/json; charset=utf-8 accepted');
});

t.test('HTML-looking requests never get HTML back', async (t) => {
  const headers = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const paths = ['/api/<script>alert(1)</script>', '/<img src=x onerror=alert(1)>', '/api/auth/me', '/index.html'];
  for (const path of paths) {
    const res = await env.request('GET', path, { headers });
    t.ok(res.status === 401 || res.status === 404, `${path}: ${res.status}`);
    assertJsonError(t, res, res.status, path);
  }
  const post = await env.request('POST', '/api/auth/login', {
    payload: '<html><body>hi</body></html>',
    headers: { ...headers, 'content-type': 'text/html' },
  });
  assertJsonError(t, post, 415, 'html body');
  // A malformed percent-encoding in the path is a client error, still JSON.
  const badPath = await env.request('GET', '/api/%E0%A4%A', { headers });
  t.ok(badPath.status >= 400 && badPath.status < 500, `bad path encoding: ${badPath.status}`);
  assertJsonError(t, badPath, badPath.status, 'bad path encoding');
});

t.test('typed errors keep their status and validation names the field', async (t) => {
  const res = await env.request('POST', '/api/auth/register', { json: { ...validRegister(), username: 'a' } });
  assertJsonError(t, res, 400);
  t.same(Object.keys(res.body).sort(), ['details', 'error']);
  t.match(res.body.details, [{ field: 'username', message: String }]);
  t.match(res.body.error, /username/, 'the message names the field too');

  const unauth = await env.request('GET', '/api/auth/me');
  t.same(Object.keys(unauth.body), ['error'], 'no details on a plain error');
});

t.test('a dependency that is down gives 503, not 500', async (t) => {
  // Another API node whose Postgres pool is gone and whose Redis connection is closed.
  const { user, cookie, password } = await env.register('dep');
  const deadSql = createSql(env.config.databaseUrl, { max: 1 });
  await deadSql.end();
  // Nothing listens on port 1: connecting is refused, and commands fail after the first attempt.
  const deadRedis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  deadRedis.on('error', () => {});
  t.teardown(() => deadRedis.disconnect());

  const noDb = await buildApp({ ...env.resources, sql: deadSql });
  t.teardown(() => noDb.close());
  const login = await noDb.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password } });
  assertJsonError(t, { status: login.statusCode, headers: login.headers as Reply['headers'], body: login.json() }, 503, 'login without Postgres');
  const me = await noDb.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
  assertJsonError(t, { status: me.statusCode, headers: me.headers as Reply['headers'], body: me.json() }, 503, 'me without Postgres');
  const health = await noDb.inject({ method: 'GET', url: '/api/health' });
  t.equal(health.statusCode, 200, 'liveness does not depend on Postgres');

  const noRedis = await buildApp({ ...env.resources, redis: deadRedis });
  t.teardown(() => noRedis.close());
  const me2 = await noRedis.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
  assertJsonError(t, { status: me2.statusCode, headers: me2.headers as Reply['headers'], body: me2.json() }, 503, 'me without Redis');

  // The real node is unaffected.
  t.equal((await env.request('GET', '/api/auth/me', { cookie })).status, 200);
});
