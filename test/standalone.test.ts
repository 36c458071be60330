// `npm start` end to end: a fresh process on a database that does not exist yet, with the
// embedded S3 server, serving auth on /api and the gateway on the same origin.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { databaseUrl, dropDatabases, withAdmin } from './db.ts';

const runId = process.env.TEST_RUN_ID ?? `${Date.now().toString(36)}_${process.pid}`;
const database = `ngt_${runId}_standalone`;
const dataDir = await mkdtemp(join(tmpdir(), 'ngt-standalone-'));

const child = spawn(process.execPath, ['--import', 'tsx', 'services/standalone/src/main.ts'], {
  env: {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl(database),
    REDIS_PREFIX: `${process.env.TEST_REDIS_PREFIX ?? `ngt:${runId}:`}standalone:`,
    DATA_DIR: dataDir,
    S3_ENDPOINT: '',
    SESSION_SECRET: 'standalone-test-secret-0123456789abcdef',
    RATE_LIMIT_ENABLED: 'false',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stderr = '';
child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

t.teardown(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await dropDatabases([database]);
  await rm(dataDir, { recursive: true, force: true });
});

const base: string = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /NexusGuild is up on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  exited.then((code) => reject(new Error(`exited with ${code} before it was up:\n${stderr}`)));
});

async function call(method: string, path: string, body?: unknown, cookie?: string) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any>, cookie: res.headers.get('set-cookie')?.split(';')[0] };
}

function connect(cookie?: string): Promise<string> {
  const socket = io(base, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: cookie ? { cookie } : {} });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.close();
      resolve('connected');
    });
    socket.once('connect_error', (err) => {
      socket.close();
      resolve(err.message);
    });
  });
}

t.test('created its database and reports ready', async (t) => {
  const rows = await withAdmin((sql) => sql`SELECT 1 FROM pg_database WHERE datname = ${database}`);
  t.equal(rows.length, 1);
  const ready = await call('GET', '/readyz');
  t.equal(ready.status, 200);
  t.same(ready.body.checks, { postgres: 'ok', redis: 'ok', s3: 'ok' });
});

t.test('register, me, logout and login on one origin, with the socket beside them', async (t) => {
  const reg = await call('POST', '/api/auth/register', { username: 'standalone', email: 'standalone@example.com', password: 'password123' });
  t.equal(reg.status, 201);
  t.ok(reg.cookie);
  const me = await call('GET', '/api/auth/me', undefined, reg.cookie);
  t.equal(me.body.username, 'standalone');
  t.equal(await connect(reg.cookie), 'connected');
  t.equal(await connect(), 'Authentication error');
  t.equal((await call('POST', '/api/auth/logout', undefined, reg.cookie)).status, 200);
  t.equal((await call('GET', '/api/auth/me', undefined, reg.cookie)).status, 401);
  const login = await call('POST', '/api/auth/login', { email: 'standalone@example.com', password: 'password123' });
  t.equal(login.status, 200);
  t.equal((await call('GET', '/api/auth/me', undefined, login.cookie)).body.id, reg.body.id);
});

t.test('SIGTERM shuts down cleanly', async (t) => {
  child.kill('SIGTERM');
  t.equal(await exited, 0, stderr);
});
