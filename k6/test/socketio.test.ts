// The k6 scenarios' socket.io framing (k6/lib/socketio.ts) against a real socket.io 4.8 server on
// a loopback port, over a real websocket (bench/framed.ts: the `ws` package): handshake,
// ping/pong, connect with auth, connect errors, events both ways, acks both ways, namespaces,
// disconnects from either side. Plus the codec on its own for malformed input.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Server } from 'socket.io';
import { connectFramed } from '../../bench/framed.ts';
import { ProtocolError, createSession, decode, encode, socketUrl } from '../lib/socketio.ts';

async function server(t: Test, options: ConstructorParameters<typeof Server>[1] = {}) {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], ...options });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.teardown(() => new Promise<void>((resolve) => io.close(() => resolve())));
  return { io, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

t.test('codec: encodes and decodes every packet kind the gateway uses', async (t) => {
  t.equal(socketUrl('http://h:1'), 'ws://h:1/socket.io/?EIO=4&transport=websocket');
  t.equal(socketUrl('https://h/'), 'wss://h/socket.io/?EIO=4&transport=websocket');
  t.equal(encode.connect(), '40');
  t.equal(encode.connect('/admin', { token: 'x' }), '40/admin,{"token":"x"}');
  t.equal(encode.event('join_channel', ['12']), '42["join_channel","12"]');
  t.equal(encode.event('join_channel', ['12'], 7), '427["join_channel","12"]');
  t.equal(encode.event('e', [], 3, '/admin'), '42/admin,3["e"]');
  t.equal(encode.ack(7, [{ ok: true }]), '437[{"ok":true}]');
  t.same(decode('0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'), {
    type: 'open', handshake: { sid: 's', pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
  });
  t.same(decode('2'), { type: 'ping' });
  t.same(decode('40{"sid":"abc"}'), { type: 'connect', nsp: '/', sid: 'abc' });
  t.same(decode('44{"message":"Authentication error"}'), { type: 'connect_error', nsp: '/', message: 'Authentication error' });
  t.same(decode('42["message_created",{"id":"1"}]'), { type: 'event', nsp: '/', name: 'message_created', args: [{ id: '1' }], id: null });
  t.same(decode('4212["ev",1,"two"]'), { type: 'event', nsp: '/', name: 'ev', args: [1, 'two'], id: 12 });
  t.same(decode('43/admin,5[{"ok":false,"error":"no"}]'), { type: 'ack', nsp: '/admin', id: 5, args: [{ ok: false, error: 'no' }] });
  t.same(decode('41'), { type: 'disconnect', nsp: '/' });
  for (const bad of ['', '9', '0{', '0{"sid":1}', '42{"a":1}', '42[1]', '43["x"]', '451-["e",{"_placeholder":true,"num":0}]', '4/nsp']) {
    let thrown: unknown = null;
    try {
      decode(bad);
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof ProtocolError, `rejects ${JSON.stringify(bad)} with a ProtocolError`);
  }
});

t.test('session: a malformed frame is reported, never thrown at the transport', async (t) => {
  const errors: string[] = [];
  const sent: string[] = [];
  const session = createSession({ send: (f) => sent.push(f), onError: (m) => errors.push(m) });
  session.receive('42not json');
  t.equal(errors.length, 1);
  t.match(errors[0], /not JSON/);
  session.receive('2');
  t.same(sent, ['3'], 'and it keeps answering pings');
});

t.test('handshake, connect with auth, events and acks both ways', async (t) => {
  const { io, url } = await server(t);
  const serverSide = new Promise<import('socket.io').Socket>((resolve) => io.on('connection', resolve));
  const client = await connectFramed(url, { auth: { token: 'tok' } });
  const socket = await serverSide;
  t.ok(client.session.connected);
  t.equal(client.session.handshake?.pingInterval, 25000, 'the Engine.IO handshake was read');
  t.same(socket.handshake.auth, { token: 'tok' }, 'the connect packet carried auth');

  // client → server, with an ack carrying unicode and nested data
  socket.on('echo', (a: unknown, b: unknown, ack: (...r: unknown[]) => void) => ack({ a, b }, 'ünï ✓'));
  const reply = await new Promise<unknown[]>((resolve) => client.session.emit('echo', { n: 1 }, [2, '3'], (...r: unknown[]) => resolve(r)));
  t.same(reply, [{ a: { n: 1 }, b: [2, '3'] }, 'ünï ✓']);

  // client → server without an ack: the handler gets exactly the arguments
  const plain = new Promise<unknown[]>((resolve) => socket.on('plain', (...args: unknown[]) => resolve(args)));
  client.session.emit('plain', 'x', 42);
  t.same(await plain, ['x', 42]);

  // server → client event
  const got = new Promise<unknown[]>((resolve) => client.session.on('message_created', (...args) => resolve(args)));
  socket.emit('message_created', { id: '9', content: 'hi' });
  t.same(await got, [{ id: '9', content: 'hi' }]);

  // server → client with an ack: the client answers through the function it is given
  client.session.on('question', (n, ack) => (ack as (r: unknown) => void)((n as number) * 2));
  t.equal(await socket.timeout(2000).emitWithAck('question', 21), 42);

  // concurrent acks resolve to their own callers
  socket.on('slow', (n: number, ack: (r: number) => void) => setImmediate(() => ack(n)));
  const answers = await Promise.all([1, 2, 3].map((n) => new Promise((resolve) => client.session.emit('slow', n, resolve))));
  t.same(answers, [1, 2, 3]);

  // the client leaves: the server sees a namespace disconnect
  const reason = new Promise((resolve) => socket.on('disconnect', resolve));
  client.close();
  t.equal(await reason, 'client namespace disconnect');
});

t.test('ping/pong: the session answers the server heartbeat and stays connected', async (t) => {
  const { io, url } = await server(t, { pingInterval: 30, pingTimeout: 200 });
  const serverSide = new Promise<import('socket.io').Socket>((resolve) => io.on('connection', resolve));
  const client = await connectFramed(url);
  const socket = await serverSide;
  // Engine.IO emits 'heartbeat' on each pong it receives; five in a row prove the loop works.
  for (let i = 0; i < 5; i++) await once(socket.conn, 'heartbeat');
  t.ok(socket.connected, 'still connected after several ping intervals');
  socket.emit('after', 'pings');
  t.same(await new Promise((resolve) => client.session.on('after', resolve)), 'pings');
  client.close();
});

t.test('a middleware refusal arrives as a connect error', async (t) => {
  const { io, url } = await server(t);
  io.use((_socket, next) => next(new Error('Authentication error')));
  await t.rejects(connectFramed(url), { message: 'Authentication error' });
});

t.test('cookies reach the handshake (how the gateway authenticates)', async (t) => {
  const { io, url } = await server(t);
  const cookie = new Promise<string | undefined>((resolve) => io.on('connection', (s) => resolve(s.handshake.headers.cookie)));
  const client = await connectFramed(url, { cookie: 'connect.sid=abc' });
  t.equal(await cookie, 'connect.sid=abc');
  client.close();
});

t.test('a server-side disconnect is reported to the client', async (t) => {
  const { io, url } = await server(t);
  io.on('connection', (s) => s.on('bye', () => s.disconnect(true)));
  const client = await connectFramed(url);
  client.session.emit('bye');
  t.equal(await client.closed, 'io server disconnect');
  t.notOk(client.session.connected);
});

t.test('namespaces: packets of another namespace are not mixed in', async (t) => {
  const { io, url } = await server(t);
  io.of('/admin').on('connection', (s) => s.on('who', (ack: (r: string) => void) => ack(s.nsp.name)));
  const client = await connectFramed(url, { nsp: '/admin' });
  t.equal(await new Promise((resolve) => client.session.emit('who', resolve)), '/admin');
  client.close();
});
