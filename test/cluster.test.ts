// The split deployment across real processes: infra/cluster.ts (what `npm run cluster` runs)
// starts 2 API nodes, 2 gateways, a worker and HAProxy on free ports, with this file's own
// database, Redis prefix and S3 data. Sessions, logout, id minting and failover must hold across
// nodes; SIGKILL and SIGTERM behave as designed. Needs HAProxy (scripts/install-tools.sh): skipped
// without it, except under CI (or REQUIRE_DEPLOY_TOOLS=1), where it must exist.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io as ioClient, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { disconnected, nextEvent, record, type TestSocket } from './harness.ts';
import { databaseUrl, dropDatabases } from './db.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const requireTools = process.env.CI === 'true' || process.env.REQUIRE_DEPLOY_TOOLS === '1';
if (spawnSync('haproxy', ['-v']).error) {
  const why = 'haproxy is not installed (run scripts/install-tools.sh)';
  if (requireTools) t.fail(why);
  else t.pass(why, { skip: why });
  process.exit(); // a module cannot return early, and nothing below can run without HAProxy
}

/** Ports nothing listens on right now (held together so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

const runId = process.env.TEST_RUN_ID ?? `${Date.now().toString(36)}_${process.pid}`;
const database = `ngt_${runId}_cluster`;
const dataDir = await mkdtemp(join(tmpdir(), 'ngt-cluster-'));
const [origin, api1, api2, gateway1, gateway2, worker, stats] = await freePorts(7);

const started = performance.now();
const cluster = spawn(process.execPath, ['--import', 'tsx', 'infra/cluster.ts'], {
  cwd: root,
  env: {
    ...process.env,
    NODE_ENV: 'test',
    PORT: String(origin),
    HOST: '127.0.0.1',
    CLUSTER_API_PORTS: `${api1},${api2}`,
    CLUSTER_GATEWAY_PORTS: `${gateway1},${gateway2}`,
    CLUSTER_WORKER_METRICS_PORT: String(worker),
    CLUSTER_STATS_PORT: String(stats),
    DATABASE_URL: databaseUrl(database), // does not exist yet: the cluster creates and migrates it
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `${process.env.TEST_REDIS_PREFIX ?? `ngt:${runId}:`}cluster:`,
    S3_ENDPOINT: '', // the cluster's embedded S3 server, in dataDir
    DATA_DIR: dataDir,
    SESSION_SECRET: 'cluster-test-secret-0123456789abcdef0123',
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    WORKER_ID: '',
    // A SIGKILLed gateway's users go offline within TTL + heartbeat: short here, so the test
    // observes it (the defaults are 5 s / 15 s).
    PRESENCE_HEARTBEAT_MS: '1000',
    PRESENCE_TTL_MS: '3000',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const clusterExited = new Promise<number | string>((resolve) => cluster.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

// Every line the cluster prints (its own and its nodes', prefixed), and waiters for lines to come.
const output: string[] = [];
const waiters = new Set<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }>();
for (const stream of [cluster.stdout, cluster.stderr]) {
  createInterface({ input: stream }).on('line', (line) => {
    output.push(line);
    for (const waiter of waiters) {
      const m = waiter.pattern.exec(line);
      if (m) {
        waiters.delete(waiter);
        waiter.resolve(m);
      }
    }
  });
}

/** Resolves with the first line (already printed or still to come) matching `pattern`. */
function line(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  for (const l of output) {
    const m = pattern.exec(l);
    if (m) return Promise.resolve(m);
  }
  return new Promise((resolve, reject) => {
    const waiter = { pattern, resolve: (m: RegExpExecArray) => { clearTimeout(timer); resolve(m); } };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output.join('\n')}`));
    }, timeoutMs);
    waiters.add(waiter);
    void clusterExited.then((status) => {
      if (!waiters.has(waiter)) return;
      waiters.delete(waiter);
      clearTimeout(timer);
      reject(new Error(`cluster exited (${status}) before a line matched ${pattern}; output:\n${output.join('\n')}`));
    });
  });
}

const pids = new Map<string, number>();
const sockets: TestSocket[] = [];
t.teardown(async () => {
  for (const socket of sockets) socket.close();
  if (cluster.exitCode === null && cluster.signalCode === null) cluster.kill('SIGKILL');
  // A SIGKILLed cluster cannot stop its nodes (they run in their own process groups).
  for (const pid of pids.values()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await clusterExited;
  await dropDatabases([database]);
  await rm(dataDir, { recursive: true, force: true });
});

await line(/^Ctrl-C stops everything\.$/, 60_000); // the last line of the node list
const startupMs = Math.round(performance.now() - started);
for (const l of output) {
  const m = /^ {2}(\w+)\s+pid (\d+)\s/.exec(l);
  if (m) pids.set(m[1], Number(m[2]));
}
t.comment(`cluster up in ${startupMs} ms (migrations, embedded S3, 5 nodes, HAProxy)`);

const url = (port: number) => `http://127.0.0.1:${port}`;
/** How long to wait for a disconnect that crosses processes (and HAProxy). */
const CROSS_PROCESS_MS = 5000;

async function call(port: number, method: string, path: string, { cookie, json }: { cookie?: string; json?: unknown } = {}) {
  const res = await fetch(url(port) + path, {
    method,
    headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await res.text();
  const body = (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  return { status: res.status, body, cookie: res.headers.get('set-cookie')?.split(';')[0] };
}

let users = 0;
async function register(port: number) {
  users += 1;
  const username = `cluster${users}_${process.pid}`;
  const res = await call(port, 'POST', '/api/auth/register', { json: { username, email: `${username}@example.com`, password: 'correct horse battery' } });
  if (res.status !== 201 || !res.cookie) throw new Error(`register on :${port} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, cookie: res.cookie };
}

/** A websocket-only socket.io client; resolves once connected, rejects with the connect_error. */
function connect(port: number, cookie?: string, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<TestSocket> {
  const socket: TestSocket = ioClient(url(port), {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: cookie ? { cookie } : {},
    ...options,
  });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      if (!socket.io.opts.reconnection) socket.close();
      reject(err);
    });
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = (await call(port, 'GET', '/metrics')).body as string;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} on :${port}`);
  return Number(m[1]);
}

/** Awaits the cluster's report that `name` exited; resolves with its exit code or signal. */
async function exitOf(name: string, timeoutMs = 15_000): Promise<string> {
  const m = await line(new RegExp(`^cluster: ${name} \\(pid \\d+\\) (?:exited with code|was killed by) (\\S+)$`), timeoutMs);
  return m[1];
}

t.test('the cluster prints its nodes and serves the whole API through HAProxy', async (t) => {
  t.same([...pids.keys()].sort(), ['api1', 'api2', 'gateway1', 'gateway2', 'haproxy', 'worker']);
  const ready = await call(origin, 'GET', '/readyz');
  t.equal(ready.status, 200);
  t.same(ready.body.checks, { postgres: 'ok', redis: 'ok', s3: 'ok' }, 'migrated database, Redis and the embedded S3 bucket');
  t.equal((await call(origin, 'GET', '/api/health')).status, 200);
});

let session: { id: string; cookie: string };
let killedGateway: 'gateway1' | 'gateway2' = 'gateway1';
let firstSockets: TestSocket[] = [];

t.test('a session made on API 1 works on API 2, on both gateways and through HAProxy', async (t) => {
  session = await register(api1);
  const me = await call(api2, 'GET', '/api/auth/me', { cookie: session.cookie });
  t.equal(me.status, 200);
  t.equal(me.body.id, session.id, 'API 2 knows the session API 1 created');
  t.equal((await call(origin, 'GET', '/api/auth/me', { cookie: session.cookie })).body.id, session.id, 'and through HAProxy');

  firstSockets = await Promise.all([connect(gateway1, session.cookie), connect(gateway2, session.cookie), connect(origin, session.cookie)]);
  t.ok(firstSockets.every((s) => s.connected), 'connected to gateway 1, gateway 2 and through HAProxy');
  await t.rejects(connect(gateway2), /Authentication error/, 'no cookie, no socket');
});

t.test('logout through API 2 disconnects the session\'s sockets on both gateways', async (t) => {
  const reasons = Promise.all(firstSockets.map((s) => disconnected(s, CROSS_PROCESS_MS)));
  t.equal((await call(api2, 'POST', '/api/auth/logout', { cookie: session.cookie })).status, 200);
  t.same(await reasons, ['io server disconnect', 'io server disconnect', 'io server disconnect']);
  t.equal((await call(api1, 'GET', '/api/auth/me', { cookie: session.cookie })).status, 401, 'API 1 forgot it too');
});

t.test('guild events cross nodes: posted through API 1, heard on both gateways; a kick through API 2 empties both', async (t) => {
  const owner = await register(api1);
  const member = await register(api2);
  const server = await call(api1, 'POST', '/api/servers', { cookie: owner.cookie, json: { name: 'Across' } });
  t.equal(server.status, 201);
  const invite = await call(api2, 'POST', `/api/servers/${server.body.id}/invites`, { cookie: owner.cookie, json: {} });
  t.equal((await call(api1, 'POST', '/api/servers/join', { cookie: member.cookie, json: { code: invite.body.code } })).status, 200);

  const [g1, g2] = [await connect(gateway1, member.cookie), await connect(gateway2, member.cookie)];
  for (const socket of [g1, g2]) t.same(await socket.timeout(3000).emitWithAck('join_server', server.body.id), { ok: true });
  const renamed = [g1, g2].map((s) => nextEvent(s, 'server_updated'));
  t.equal((await call(api1, 'PATCH', `/api/servers/${server.body.id}`, { cookie: owner.cookie, json: { name: 'Renamed' } })).status, 200);
  t.match(await Promise.all(renamed), [{ name: 'Renamed' }, { name: 'Renamed' }], 'both gateways delivered it');

  const left = [g1, g2].map((s) => nextEvent(s, 'user_left'));
  t.equal((await call(api2, 'DELETE', `/api/servers/${server.body.id}/members/${member.id}`, { cookie: owner.cookie })).status, 204);
  await Promise.all(left); // the last event of the server room they hear
  // After the kick the member's sockets are out of the room on both gateways: a rename reaches
  // the owner (in the room) but not them; their own personal-room event proves the path is clear.
  const seen = [record(g1, 'server_updated'), record(g2, 'server_updated')];
  const ownerSocket = await connect(gateway2, owner.cookie);
  t.same(await ownerSocket.timeout(3000).emitWithAck('join_server', server.body.id), { ok: true });
  const ownerHears = nextEvent(ownerSocket, 'server_updated');
  await call(api1, 'PATCH', `/api/servers/${server.body.id}`, { cookie: owner.cookie, json: { name: 'Members only' } });
  await ownerHears;
  const marker = [g1, g2].map((s) => nextEvent(s, 'server_joined'));
  await call(api2, 'POST', '/api/servers', { cookie: member.cookie, json: { name: 'Own' } });
  await Promise.all(marker);
  t.same(seen, [[], []], 'the kicked member hears nothing more from the server on either gateway');
  // Later tests count sockets per gateway: log both out, which closes their sockets server-side.
  const closed = [g1, g2, ownerSocket].map((socket) => disconnected(socket, CROSS_PROCESS_MS));
  for (const user of [member, owner]) await call(api1, 'POST', '/api/auth/logout', { cookie: user.cookie });
  await Promise.all(closed);
});

/** A server owned by a fresh user with a fresh member in it, and its text and voice channels. */
async function guild(name: string) {
  const owner = await register(api1);
  const member = await register(api2);
  const server = await call(api1, 'POST', '/api/servers', { cookie: owner.cookie, json: { name } });
  const invite = await call(api2, 'POST', `/api/servers/${server.body.id}/invites`, { cookie: owner.cookie, json: {} });
  await call(api1, 'POST', '/api/servers/join', { cookie: member.cookie, json: { code: invite.body.code } });
  const channels = (await call(api2, 'GET', `/api/channels/${server.body.id}`, { cookie: member.cookie })).body as { id: string; type: string }[];
  const text = channels.find((c) => c.type === 'text')!.id;
  const voice = channels.find((c) => c.type === 'voice')!.id;
  return { owner, member, serverId: server.body.id as string, text, voice };
}

/** Logs `users` out and waits until the gateways closed `sockets` (later tests count sockets). */
async function logout(users: { cookie: string }[], sockets: TestSocket[]) {
  const closed = sockets.map((socket) => disconnected(socket, CROSS_PROCESS_MS));
  for (const user of users) await call(api1, 'POST', '/api/auth/logout', { cookie: user.cookie });
  await Promise.all(closed);
}

/** A 7×5 PNG: small, but real enough for the worker to size and thumbnail. */
async function png(): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width: 7, height: 5, channels: 3, background: '#3366cc' } }).png().toBuffer();
}

t.test('messages cross nodes: sent through API 1, delivered on both gateways; an image sent through API 2 is processed by the worker process', async (t) => {
  const g = await guild('Messages');
  const [s1, s2] = [await connect(gateway1, g.member.cookie), await connect(gateway2, g.member.cookie)];
  for (const socket of [s1, s2]) t.same(await socket.timeout(3000).emitWithAck('join_channel', g.text), { ok: true });

  const created = [s1, s2].map((s) => nextEvent(s, 'message_created', { timeoutMs: CROSS_PROCESS_MS }));
  const sent = await call(api1, 'POST', `/api/messages/${g.text}`, { cookie: g.owner.cookie, json: { content: 'across the cluster' } });
  t.equal(sent.status, 201);
  t.match(await Promise.all(created), [{ id: sent.body.id, content: 'across the cluster' }, { id: sent.body.id }], 'both gateways delivered it');

  const form = new FormData();
  form.append('content', 'a picture');
  form.append('file', new Blob([new Uint8Array(await png())], { type: 'image/png' }), 'picture.png');
  const processed = [s1, s2].map((s) => nextEvent(s, 'message_updated', { timeoutMs: 15_000, filter: (m) => m.attachments[0]?.width !== undefined }));
  const res = await fetch(`${url(api2)}/api/messages/${g.text}`, { method: 'POST', headers: { cookie: g.owner.cookie }, body: form });
  t.equal(res.status, 201);
  const message = await res.json() as { id: string; attachments: { url: string }[] };
  const [first, second] = await Promise.all(processed);
  t.match(first, { id: message.id, attachments: [{ width: 7, height: 5, content_type: 'image/png' }] }, 'the worker sized it and told the channel');
  t.same(second.attachments, first.attachments, 'on both gateways');
  const served = await fetch(url(api1) + message.attachments[0].url);
  t.equal(served.status, 200, 'API 1 serves what API 2 stored');
  t.equal(served.headers.get('content-type'), 'image/png');
  await served.arrayBuffer();
  await logout([g.member], [s1, s2]);
});

t.test('presence and voice state agree across gateways', async (t) => {
  const g = await guild('Presence');
  const observer = await connect(gateway2, g.owner.cookie);
  t.same(await observer.timeout(3000).emitWithAck('join_server', g.serverId), { ok: true });

  const online = nextEvent(observer, 'presence_update', { timeoutMs: CROSS_PROCESS_MS, filter: (p) => p.userId === g.member.id });
  const user = await connect(gateway1, g.member.cookie);
  t.match(await online, { status: 'online' }, 'a connect on gateway 1 is announced on gateway 2');
  const members = await call(api2, 'GET', `/api/servers/${g.serverId}/members`, { cookie: g.owner.cookie });
  t.match(members.body.members.find((m: { id: string }) => m.id === g.member.id), { status: 'online' }, 'API 2 lists them online');

  const joined = nextEvent(observer, 'voice_state_update', { timeoutMs: CROSS_PROCESS_MS, filter: (v) => v.userId === g.member.id });
  t.same(await user.timeout(3000).emitWithAck('join_voice', { channelId: g.voice, serverId: g.serverId }), { ok: true });
  t.match(await joined, { channelId: g.voice, joined: true, muted: false });
  const late = await connect(gateway1, g.owner.cookie);
  const snapshot = nextEvent(late, 'voice_states', { timeoutMs: CROSS_PROCESS_MS });
  t.same(await late.timeout(3000).emitWithAck('join_server', g.serverId), { ok: true });
  t.match((await snapshot).states, [{ userId: g.member.id, channelId: g.voice }], 'a socket joining on the other gateway gets the snapshot');

  const offline = nextEvent(observer, 'presence_update', { timeoutMs: CROSS_PROCESS_MS, filter: (p) => p.userId === g.member.id });
  const left = nextEvent(observer, 'voice_state_update', { timeoutMs: CROSS_PROCESS_MS, filter: (v) => v.userId === g.member.id });
  user.close();
  t.match(await left, { joined: false }, 'closing the voice socket on gateway 1 ends the state, heard on gateway 2');
  t.match(await offline, { status: 'offline' });
  await logout([g.owner], [observer, late]);
});

t.test('ids minted concurrently by both API nodes never collide', async (t) => {
  const count = 40;
  const made = await Promise.all(Array.from({ length: count }, (_, i) => register(i % 2 ? api2 : api1)));
  const ids = made.map((u) => u.id);
  t.equal(new Set(ids).size, count, `${count} distinct ids`);
  // Bits 12-21 of a snowflake are the minting process's worker id.
  const workerIds = (port: number) => new Set(ids.filter((_, i) => (i % 2 ? api2 : api1) === port).map((id) => (BigInt(id) >> 12n) & 1023n));
  const [w1, w2] = [workerIds(api1), workerIds(api2)];
  t.equal(w1.size, 1, 'API 1 minted with one worker id');
  t.equal(w2.size, 1, 'API 2 minted with one worker id');
  t.not([...w1][0], [...w2][0], 'and the two nodes leased different ones');
});

t.test('/metrics on every node, never through HAProxy', async (t) => {
  const api = (await call(api1, 'GET', '/metrics')).body as string;
  t.match(api, /^http_request_duration_seconds_bucket\{.*route="\/api\/auth\/register".*status_code="201"/m, 'API latency by route and status');
  t.match(api, /^events_published_total|^# TYPE events_published_total counter/m, 'events published');
  t.equal(await metric(gateway2, 'gateway_connected_sockets'), 0, 'gateway: connected sockets (all logged out)');
  t.match((await call(worker, 'GET', '/metrics')).body, /^# TYPE worker_job_duration_seconds histogram/m, 'worker: job durations');
  t.equal((await call(worker, 'GET', '/readyz')).status, 200, 'worker readiness');
  t.equal((await call(origin, 'GET', '/metrics')).status, 403, 'HAProxy refuses /metrics');
  t.equal((await call(origin, 'GET', '/%6Detrics')).status, 403, 'however it is spelled');
});

t.test('a gateway killed with SIGKILL: its clients reconnect through HAProxy to the other', async (t) => {
  const user = await register(api1);
  // Client defaults (reconnection on, 1 s delay ± 50%): what a real client pays.
  const clients: TestSocket[] = [];
  for (let i = 0; i < 4; i++) clients.push(await connect(origin, user.cookie, { reconnection: true }));
  const counts = { gateway1: await metric(gateway1, 'gateway_connected_sockets'), gateway2: await metric(gateway2, 'gateway_connected_sockets') };
  t.equal(counts.gateway1 + counts.gateway2, 4, `HAProxy spread them: ${JSON.stringify(counts)}`);
  const [victim, survivor] = counts.gateway1 >= counts.gateway2 ? ['gateway1', gateway2] as const : ['gateway2', gateway1] as const;
  killedGateway = victim;
  const moved = counts[victim];
  // A member whose only socket is on the victim, in voice, watched from the survivor: the dead
  // node's peers must reap it (presence TTL + heartbeat), leaving them offline and out of voice.
  const g = await guild('Ghosts');
  const watcher = await connect(survivor, g.owner.cookie);
  t.same(await watcher.timeout(3000).emitWithAck('join_server', g.serverId), { ok: true });
  const ghost = await connect(victim === 'gateway1' ? gateway1 : gateway2, g.member.cookie);
  const inVoice = nextEvent(watcher, 'voice_state_update', { timeoutMs: CROSS_PROCESS_MS, filter: (v) => v.userId === g.member.id });
  t.same(await ghost.timeout(3000).emitWithAck('join_voice', { channelId: g.voice, serverId: g.serverId }), { ok: true });
  await inVoice;
  const REAP_MS = 3000 + 1000 + CROSS_PROCESS_MS; // PRESENCE_TTL_MS + PRESENCE_HEARTBEAT_MS above, and delivery
  const reaped = Promise.all([
    nextEvent(watcher, 'presence_update', { timeoutMs: REAP_MS, filter: (p) => p.userId === g.member.id }),
    nextEvent(watcher, 'voice_state_update', { timeoutMs: REAP_MS, filter: (v) => v.userId === g.member.id }),
  ]).then((events) => ({ events, at: performance.now() }));

  // Each socket that loses its gateway reports when it noticed and when it was back.
  let killedAt = 0;
  const timings: { lost: number; back: number }[] = [];
  const allBack = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${timings.length} of ${moved} sockets reconnected`)), 15_000);
    for (const socket of clients) {
      socket.once('disconnect', () => {
        const lost = performance.now() - killedAt;
        socket.once('connect', () => {
          timings.push({ lost, back: performance.now() - killedAt });
          if (timings.length === moved) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    }
  });
  killedAt = performance.now();
  process.kill(pids.get(victim)!, 'SIGKILL');
  await allBack;
  t.equal(await exitOf(victim), 'SIGKILL', 'the cluster reports the death and keeps running');
  const { events: [presence, voice], at } = await reaped;
  t.match(presence, { status: 'offline' }, 'the killed gateway\'s user went offline');
  t.match(voice, { channelId: g.voice, joined: false }, 'and out of voice');
  t.equal((await call(api2, 'GET', `/api/servers/${g.serverId}/members`, { cookie: g.owner.cookie })).body.members
    .find((m: { id: string }) => m.id === g.member.id)?.status, 'offline', 'the member list agrees');
  t.comment(`SIGKILL of ${victim}: its user was reported offline and out of voice ${Math.round(at - killedAt)} ms later (bound: TTL 3 s + heartbeat 1 s)`);
  ghost.close();
  await logout([g.owner], [watcher]);
  t.ok(clients.every((s) => s.connected), 'every client is connected again');
  t.equal(await metric(survivor, 'gateway_connected_sockets'), 4, 'all four on the surviving gateway');

  const back = timings.map((x) => Math.round(x.back)).sort((a, b) => a - b);
  const lost = Math.round(Math.max(...timings.map((x) => x.lost)));
  t.comment(`SIGKILL of ${victim}: ${moved} socket(s) noticed within ${lost} ms and reconnected through HAProxy after ` +
    `${back.join(', ')} ms (mean ${Math.round(back.reduce((a, b) => a + b, 0) / back.length)} ms; socket.io-client's default reconnection delay is 0.5-1.5 s)`);

  // The moved sockets are full members again: a logout still reaches every one of them.
  const reasons = Promise.all(clients.map((s) => disconnected(s, CROSS_PROCESS_MS)));
  t.equal((await call(api2, 'POST', '/api/auth/logout', { cookie: user.cookie })).status, 200);
  t.same(new Set(await reasons), new Set(['io server disconnect']));
});

/** Resolves once `port` refuses new connections (the node stopped listening). */
async function refusing(port: number): Promise<void> {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const probe = tcpConnect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(false);
      });
      probe.once('error', () => resolve(true));
    });
    if (refused) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('SIGTERM: each node finishes what it is doing and exits 0 within the shutdown timeout', async (t) => {
  const SHUTDOWN_TIMEOUT_MS = 10_000; // shared/src/shutdown.ts

  await t.test('an API node finishes an in-flight request, refusing new ones', async (t) => {
    const username = `inflight_${process.pid}`;
    const body = JSON.stringify({ username, email: `${username}@example.com`, password: 'correct horse battery' });
    // Expect: 100-continue makes the node say when it holds the request; the body follows later.
    const req = httpRequest({
      host: '127.0.0.1', port: api2, method: 'POST', path: '/api/auth/register',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
    });
    const response = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    req.flushHeaders();
    await new Promise((resolve) => req.once('continue', resolve));
    const sent = performance.now();
    process.kill(pids.get('api2')!, 'SIGTERM');
    await refusing(api2);
    req.end(body);
    t.equal(await response, 201, 'the request that was in flight completed');
    t.equal(await exitOf('api2'), '0', 'exit code 0');
    const took = performance.now() - sent;
    t.ok(took < SHUTDOWN_TIMEOUT_MS, `stopped in ${Math.round(took)} ms`);
    t.equal((await call(origin, 'GET', '/readyz')).status, 200, 'HAProxy still serves through API 1');
  });

  await t.test('the gateway closes its sockets so that clients reconnect elsewhere', async (t) => {
    const gateway = killedGateway === 'gateway1' ? 'gateway2' : 'gateway1';
    const port = gateway === 'gateway2' ? gateway2 : gateway1;
    const user = await register(api1);
    const socket = await connect(port, user.cookie);
    const reason = disconnected(socket, CROSS_PROCESS_MS);
    const sent = performance.now();
    process.kill(pids.get(gateway)!, 'SIGTERM');
    t.equal(await reason, 'transport close', 'a transport close, which socket.io clients answer by reconnecting');
    t.equal(await exitOf(gateway), '0', 'exit code 0');
    t.ok(performance.now() - sent < SHUTDOWN_TIMEOUT_MS, 'within the timeout');
  });

  await t.test('the worker stops taking jobs and exits', async (t) => {
    const sent = performance.now();
    process.kill(pids.get('worker')!, 'SIGTERM');
    t.equal(await exitOf('worker'), '0', 'exit code 0');
    t.ok(performance.now() - sent < SHUTDOWN_TIMEOUT_MS, 'within the timeout');
  });
});

t.test('SIGTERM on the cluster stops everything it started', async (t) => {
  cluster.kill('SIGTERM');
  t.equal(await clusterExited, 0, 'exit code 0');
  t.match(output.join('\n'), /^cluster: stopped$/m);
  for (const [name, pid] of pids) {
    t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `${name} is gone`);
  }
});
