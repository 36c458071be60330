// The gateway against a real API, Redis and socket.io clients: handshake authentication from the
// API's session cookie, personal and session rooms, logout closing exactly that session's sockets,
// the origin check on upgrades, two gateways on one Redis, and what the gateway keeps per socket.
import { request as httpRequest } from 'node:http';
import t from 'tap';
import type { Gateway } from '@nexusguild/gateway';
import { rooms } from '@nexusguild/shared/events';
import { SESSION_COOKIE, sessionSigner } from '@nexusguild/shared/sessions';
import { disconnected, nextEvent, record, setup, startGateway, type TestSocket } from '../../../test/harness.ts';

const APP_ORIGIN = 'https://app.example.com';
const env = await setup(t, { CORS_ORIGINS: APP_ORIGIN });
const host = new URL(env.url).host; // 127.0.0.1:<port>

/** The session id inside a "connect.sid=<signed>" cookie. */
function sidOf(cookie: string): string {
  const signed = decodeURIComponent(cookie.slice(`${SESSION_COOKIE}=`.length));
  const { valid, value } = sessionSigner(env.config.sessionSecret).unsign(signed);
  if (!valid || !value) throw new Error(`cookie does not carry a valid session: ${cookie}`);
  return value;
}

const cookieFor = (signedValue: string) => `${SESSION_COOKIE}=${encodeURIComponent(signedValue)}`;

/** Awaits a connect attempt that must fail; resolves with the connect_error. */
async function refused(attempt: Promise<TestSocket>): Promise<Error> {
  try {
    const socket = await attempt;
    socket.close();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the gateway accepted a connection it should have refused');
}

/** Server-side sockets of this gateway (local only). */
const serverSockets = (gateway: Gateway = env.gateway) => [...gateway.io.of('/').sockets.values()];

t.test('handshake', async (t) => {
  t.test('a client with the session cookie connects and is in its personal room', async (t) => {
    const alice = await env.register('alice');
    const bob = await env.register('bob');
    const a = await env.connect(alice.cookie);
    const b = await env.connect(bob.cookie);
    t.ok(a.connected);

    // Server side, the socket knows who it is.
    const onServer = serverSockets().find((s) => s.id === a.id);
    t.ok(onServer, 'the server holds the socket');
    t.same(onServer?.data, { userId: alice.user.id, username: alice.user.username, sid: sidOf(alice.cookie) });
    t.ok(onServer?.rooms.has(rooms.user(alice.user.id)), 'in user room');
    t.ok(onServer?.rooms.has(rooms.session(sidOf(alice.cookie))), 'in session room');

    const bobSeen = record(b, 'server_joined');
    const aliceGot = nextEvent(a, 'server_joined');
    const bobGot = nextEvent(b, 'server_joined', { filter: (p) => p.serverId === '2' });
    env.resources.publisher.emit(rooms.user(alice.user.id), 'server_joined', { serverId: '1' });
    env.resources.publisher.emit(rooms.user(bob.user.id), 'server_joined', { serverId: '2' });
    t.same(await aliceGot, { serverId: '1' });
    await bobGot;
    // Both emits travel the same Redis channel in order: had Alice's reached Bob, it would be first.
    t.same(bobSeen, [{ serverId: '2' }], "Bob never saw Alice's personal event");
    a.close();
    b.close();
  });

  t.test('an emit to several rooms a socket is in arrives once', async (t) => {
    const carol = await env.register('carol');
    const c = await env.connect(carol.cookie);
    const seen = record(c, 'server_joined');
    env.resources.publisher.emit([rooms.user(carol.user.id), rooms.session(sidOf(carol.cookie))], 'server_joined', { serverId: '7' });
    await env.flush(c, carol.user.id);
    t.same(seen, [{ serverId: '7' }]);
    c.close();
  });

  t.test('without a cookie the handshake fails with "Authentication error"', async (t) => {
    const err = await refused(env.connect());
    t.equal(err.message, 'Authentication error');
  });

  t.test('a cookie without the session entry, or an empty one, is refused', async (t) => {
    t.equal((await refused(env.connect('theme=dark'))).message, 'Authentication error');
    t.equal((await refused(env.connect(`${SESSION_COOKIE}=`))).message, 'Authentication error');
    t.equal((await refused(env.connect(`${SESSION_COOKIE}=not-signed-at-all`))).message, 'Authentication error');
  });

  t.test('a forged signature is refused', async (t) => {
    const { cookie } = await env.register('forger');
    const sid = sidOf(cookie);
    const signed = sessionSigner(env.config.sessionSecret).sign(sid);
    const [, signature] = signed.split('.');
    // Same sid, signature altered in its first character; and the bare sid with no signature.
    const flipped = `${sid}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    t.equal((await refused(env.connect(cookieFor(flipped)))).message, 'Authentication error');
    t.equal((await refused(env.connect(cookieFor(sid)))).message, 'Authentication error');
    // The genuine cookie still works, so the refusals above were about the signature.
    (await env.connect(cookie)).close();
  });

  t.test('a cookie signed with another secret is refused', async (t) => {
    const { cookie } = await env.register('othersecret');
    const sid = sidOf(cookie);
    const foreign = sessionSigner('another-secret-another-secret-0123456789').sign(sid);
    t.equal((await refused(env.connect(cookieFor(foreign)))).message, 'Authentication error');
  });

  t.test('the cookie of a logged-out session is refused', async (t) => {
    const { cookie } = await env.register('loggedout');
    (await env.connect(cookie)).close();
    const res = await env.request('POST', '/api/auth/logout', { cookie });
    t.equal(res.status, 200);
    t.equal((await refused(env.connect(cookie))).message, 'Authentication error');
  });

  t.test('a session that expired from Redis is refused', async (t) => {
    const { cookie } = await env.register('expired');
    (await env.connect(cookie)).close();
    t.equal(await env.resources.redis.del(env.resources.keys.session(sidOf(cookie))), 1);
    t.equal((await refused(env.connect(cookie))).message, 'Authentication error');
  });

  t.test('a stored session without a user is refused', async (t) => {
    // What @fastify/session would store for an anonymous session, under a correctly signed id.
    const sid = 'anonymous-session-id-0123456789abcdef';
    await env.resources.redis.set(env.resources.keys.session(sid), JSON.stringify({ cookie: { expires: null } }), 'PX', 60_000);
    const cookie = cookieFor(sessionSigner(env.config.sessionSecret).sign(sid));
    t.equal((await refused(env.connect(cookie))).message, 'Authentication error');
    await env.resources.redis.del(env.resources.keys.session(sid));
  });
});

t.test('logout disconnects exactly the sockets of that session', async (t) => {
  const first = await env.register('twice');
  const login = await env.request('POST', '/api/auth/login', { json: { email: first.user.email, password: first.password } });
  t.equal(login.status, 200);
  const second = login.cookie;
  if (!second) throw new Error('login set no cookie');
  t.not(sidOf(second), sidOf(first.cookie), 'two distinct sessions');

  const s1 = await env.connect(first.cookie);
  const s1b = await env.connect(first.cookie); // a second tab of the same session
  const s2 = await env.connect(second);

  const gone = Promise.all([disconnected(s1), disconnected(s1b)]);
  const res = await env.request('POST', '/api/auth/logout', { cookie: first.cookie });
  t.equal(res.status, 200);
  t.same(await gone, ['io server disconnect', 'io server disconnect']);

  // The other session's socket survived the logout (the disconnect travelled ahead of this emit).
  const got = nextEvent(s2, 'server_joined');
  env.resources.publisher.emit(rooms.user(first.user.id), 'server_joined', { serverId: '42' });
  t.same(await got, { serverId: '42' });
  t.ok(s2.connected);
  t.notOk(serverSockets().some((s) => s.data.sid === sidOf(first.cookie)), 'no server socket of the ended session');
  t.ok(serverSockets().some((s) => s.id === s2.id), 'the other session is still held');

  // The ended session cannot reconnect; the other one can.
  t.equal((await refused(env.connect(first.cookie))).message, 'Authentication error');
  (await env.connect(second)).close();
  s2.close();
});

t.test('origin check', async (t) => {
  const { cookie } = await env.register('origin');

  t.test('a foreign origin is refused even with a valid session', async (t) => {
    const err = await refused(env.connect(cookie, { origin: 'https://evil.example' }));
    t.not(err.message, 'Authentication error', 'refused at the upgrade, before authentication');
  });

  t.test('look-alike origins are refused', async (t) => {
    const [, port] = host.split(':');
    for (const origin of [
      `http://127.0.0.1:${Number(port) === 65535 ? 1 : Number(port) + 1}`, // same host, other port
      'null', // sandboxed iframe, file://
      `${APP_ORIGIN}.evil.example`,
      `https://evil.example/${host}`,
      'not a url',
    ]) {
      await t.rejects(env.connect(cookie, { origin }), origin);
    }
  });

  t.test("the gateway's own origin is accepted", async (t) => {
    const s = await env.connect(cookie, { origin: `http://${host}` });
    t.ok(s.connected);
    s.close();
  });

  t.test('an origin listed in CORS_ORIGINS is accepted', async (t) => {
    const s = await env.connect(cookie, { origin: APP_ORIGIN });
    t.ok(s.connected);
    s.close();
  });

  t.test('a client sending no Origin (native app) is accepted', async (t) => {
    const s = await env.connect(cookie);
    t.ok(s.connected);
    s.close();
  });

  t.test('the polling transport is checked too', async (t) => {
    const poll = (origin?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${env.url}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { origin } : {} }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const evil = await poll('https://evil.example');
    t.equal(evil.status, 403);
    const ok = await poll(APP_ORIGIN);
    t.equal(ok.status, 200);
    t.match(ok.body, /^0\{"sid"/, 'an engine.io open packet');
  });
});

t.test('two gateways on the same Redis', async (t) => {
  const { gateway: gateway2, connect: connect2 } = await startGateway(t, env.resources);

  const dave = await env.register('dave');
  const on1 = await env.connect(dave.cookie);
  const on2 = await connect2(dave.cookie);
  t.ok(serverSockets(gateway2).some((s) => s.id === on2.id && s.data.userId === dave.user.id), 'gateway 2 authenticated the API session');
  t.notOk(serverSockets().some((s) => s.id === on2.id), 'and holds the socket itself');

  t.test('one emit reaches the user on both gateways, once each', async (t) => {
    const seen1 = record(on1, 'server_joined');
    const seen2 = record(on2, 'server_joined');
    env.resources.publisher.emit(rooms.user(dave.user.id), 'server_joined', { serverId: '5' });
    await env.flush([on1, on2], dave.user.id);
    t.same(seen1, [{ serverId: '5' }]);
    t.same(seen2, [{ serverId: '5' }]);
  });

  t.test('gateway 2 refuses what gateway 1 refuses', async (t) => {
    await t.rejects(connect2('theme=dark'), { message: 'Authentication error' });
  });

  t.test('logout ends the session on the other gateway too', async (t) => {
    const gone = Promise.all([disconnected(on1), disconnected(on2)]);
    t.equal((await env.request('POST', '/api/auth/logout', { cookie: dave.cookie })).status, 200);
    t.same(await gone, ['io server disconnect', 'io server disconnect']);
  });
});

t.test('the gateway keeps neither the upgrade request nor the headers', async (t) => {
  const erin = await env.register('erin');
  // engine.io keeps each upgrade request reachable for the connection's life; capture them to
  // check their header storage was emptied.
  const upgrades: import('node:http').IncomingMessage[] = [];
  const onConnection = (raw: { request: import('node:http').IncomingMessage }) => upgrades.push(raw.request);
  env.gateway.io.engine.on('connection', onConnection);
  t.teardown(() => env.gateway.io.engine.off('connection', onConnection));
  const sockets = await Promise.all([env.connect(erin.cookie), env.connect(erin.cookie, { origin: APP_ORIGIN })]);
  t.equal(upgrades.length, 2);
  for (const request of upgrades) {
    t.same(request.rawHeaders, [], 'raw headers emptied');
    t.same(request.headers, {}, 'parsed headers emptied');
  }
  const held = serverSockets().filter((s) => s.data.userId === erin.user.id);
  t.equal(held.length, 2);
  for (const s of held) {
    t.equal(s.conn.request ?? null, null, 'conn.request dropped');
    t.notOk(s.handshake.headers.cookie, 'cookie not retained');
    t.same(s.handshake.headers, {});
  }
  // Still usable: the socket can be emitted to directly.
  const got = nextEvent(sockets[0], 'channel_read');
  env.gateway.io.to(sockets[0].id ?? '').emit('channel_read', { channelId: '1' });
  t.same(await got, { channelId: '1' });
  for (const s of sockets) s.close();
});

t.test('leaveRooms makes a user leave rooms on every socket', async (t) => {
  const frank = await env.register('frank');
  const [f1, f2] = await Promise.all([env.connect(frank.cookie), env.connect(frank.cookie)]);
  env.gateway.io.in(rooms.user(frank.user.id)).socketsJoin([rooms.server('9'), rooms.server('10')]);
  const seen = record(f1, 'server_joined');
  const seen2 = record(f2, 'server_joined');
  env.resources.publisher.leaveRooms(frank.user.id, [rooms.server('9')]);
  env.resources.publisher.emit(rooms.server('9'), 'server_joined', { serverId: '9' });
  env.resources.publisher.emit(rooms.server('10'), 'server_joined', { serverId: '10' });
  await env.flush([f1, f2], frank.user.id);
  t.same(seen, [{ serverId: '10' }], 'left server:9, still in server:10');
  t.same(seen2, [{ serverId: '10' }]);
  f1.close();
  f2.close();
});
