// The test harness: each test file gets its own database (cloned from the run's migrated
// template), its own Redis key prefix, its own S3 bucket, and a real API + gateway listening on a
// loopback port. Nothing is mocked. Helpers await events; none sleeps.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { loadConfig, type Config } from '@nexusguild/shared/config';
import { rooms, type ClientToServerEvents, type EventName, type EventPayload, type ServerToClientEvents } from '@nexusguild/shared/events';
import { openResources, type Resources } from '@nexusguild/shared/runtime';
import { buildApp, type App } from '@nexusguild/api';
import { createGateway, type Gateway } from '@nexusguild/gateway';
import { cloneTemplate, createTemplate, databaseUrl, dropDatabases } from './db.ts';

export type TestSocket = ClientSocket<ServerToClientEvents, ClientToServerEvents>;

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  headers: Record<string, string | string[] | undefined>;
  /** The session cookie the reply set ("connect.sid=..."), if any. */
  cookie: string | undefined;
}

export interface RequestOptions {
  cookie?: string;
  json?: unknown;
  headers?: Record<string, string>;
  payload?: string | Buffer;
}

const runId = process.env.TEST_RUN_ID ?? `${Date.now().toString(36)}_${process.pid}`;
let ownTemplate: Promise<string> | null = null;

/** The run's template database; a file run on its own (npx tap file) makes its own. */
function templateDatabase(): Promise<string> {
  if (process.env.TEST_TEMPLATE_DB) return Promise.resolve(process.env.TEST_TEMPLATE_DB);
  ownTemplate ??= (async () => {
    const name = `ngt_${runId}_tpl`;
    await createTemplate(name);
    return name;
  })();
  return ownTemplate;
}

let userCounter = 0;
let flushCounter = 0;

export class TestEnv {
  private sockets: TestSocket[] = [];
  constructor(
    readonly config: Config,
    readonly resources: Resources,
    readonly app: App,
    readonly gateway: Gateway,
    readonly url: string,
  ) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie) headers.cookie = options.cookie;
    const res = await this.app.inject({
      method: method as 'GET',
      url: path,
      headers,
      ...(options.json !== undefined ? { payload: options.json as object } : {}),
      ...(options.payload !== undefined ? { payload: options.payload } : {}),
    });
    const setCookie = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('connect.sid='));
    let body: unknown = res.body;
    if ((res.headers['content-type'] ?? '').toString().includes('application/json')) body = res.json();
    return { status: res.statusCode, body, headers: res.headers as Reply['headers'], cookie: setCookie?.split(';')[0] };
  }

  /** Registers a fresh user and returns it with its session cookie. */
  async register(name = 'user'): Promise<{ user: { id: string; username: string; email: string }; cookie: string; password: string }> {
    userCounter += 1;
    const username = `${name}${userCounter}_${randomBytes(2).toString('hex')}`;
    const password = 'correct horse battery';
    const res = await this.request('POST', '/api/auth/register', {
      json: { username, email: `${username}@example.com`, password },
    });
    if (res.status !== 201 || !res.cookie) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { user: res.body, cookie: res.cookie, password };
  }

  /** A socket.io client over a real websocket; resolves on connect, rejects with the connect_error. */
  connect(cookie?: string, extraHeaders: Record<string, string> = {}): Promise<TestSocket> {
    const socket: TestSocket = ioClient(this.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { ...(cookie ? { cookie } : {}), ...extraHeaders },
    });
    this.sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (err) => {
        socket.close();
        reject(err);
      });
    });
  }

  /**
   * Resolves once everything published before it has reached `sockets` (each a socket of `userId`):
   * a marker emitted to the user's personal room travels the same Redis path after the earlier emits.
   */
  async flush(sockets: TestSocket | TestSocket[], userId: string): Promise<void> {
    const marker = `flush${(flushCounter += 1)}`;
    const got = [sockets].flat().map((s) => nextEvent(s, 'channel_read', { filter: (p) => p.channelId === marker }));
    this.resources.publisher.emit(rooms.user(userId), 'channel_read', { channelId: marker });
    await Promise.all(got);
  }

  private closing: Promise<void> | null = null;

  /** Closes everything this env opened; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.sockets) s.close();
      await this.gateway.close();
      await this.app.close();
      await this.resources.close();
    })();
    return this.closing;
  }
}

/**
 * Starts an isolated API + gateway for one test file and tears it down when `t` ends.
 * `databasePort` reaches the test database through another port (a proxy in front of Postgres).
 */
export async function setup(t: Test, env: Record<string, string> = {}, { databasePort }: { databasePort?: number } = {}): Promise<TestEnv> {
  const suffix = randomBytes(4).toString('hex');
  const database = `ngt_${runId}_${suffix}`;
  await cloneTemplate(await templateDatabase(), database);
  const dbUrl = new URL(databaseUrl(database));
  if (databasePort) dbUrl.port = String(databasePort);
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: `${process.env.TEST_REDIS_PREFIX ?? `ngt:${runId}:`}${suffix}:`,
      S3_ENDPOINT: process.env.TEST_S3_ENDPOINT ?? '',
      S3_BUCKET: `ngt-${suffix}`,
      SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
      RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      ...env,
    },
    () => {},
  );
  if (!config.s3.endpoint) throw new Error('TEST_S3_ENDPOINT is not set: run tests with `npm test`');
  const resources = await openResources(config);
  await resources.storage.ensureBucket();
  const app = await buildApp(resources);
  const gateway = createGateway(app.server, resources);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const testEnv = new TestEnv(config, resources, app, gateway, url);
  t.teardown(async () => {
    await testEnv.close();
    await dropDatabases([database]);
  });
  return testEnv;
}

export interface ExtraGateway {
  gateway: Gateway;
  /** A socket.io client of this gateway over a real websocket; resolves on connect, rejects with the connect_error. */
  connect(cookie: string): Promise<TestSocket>;
}

/** Another gateway on `resources` (as another process would be), on its own port; it and its sockets close when `t` ends. */
export async function startGateway(t: Test, resources: Resources): Promise<ExtraGateway> {
  const server = createServer();
  const gateway = createGateway(server, resources);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: TestSocket[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await gateway.close(); // closes the server too
  });
  const connect = (cookie: string) =>
    new Promise<TestSocket>((resolve, reject) => {
      const socket: TestSocket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie } });
      clients.push(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  return { gateway, connect };
}

/**
 * Resolves with the next `event` on `socket` that passes `filter`; rejects after `timeoutMs`.
 * Register it before triggering the action that should cause the event.
 */
export function nextEvent<E extends EventName>(
  socket: TestSocket,
  event: E,
  { filter = () => true, timeoutMs = 3000 }: { filter?: (p: EventPayload<E>) => boolean; timeoutMs?: number } = {},
): Promise<EventPayload<E>> {
  // The listener is typed by EventPayload<E> above; socket.io's generic overloads cannot see that.
  const untyped = socket as unknown as { on(e: string, l: (p: EventPayload<E>) => void): void; off(e: string, l: (p: EventPayload<E>) => void): void };
  return new Promise((resolve, reject) => {
    const listener = (payload: EventPayload<E>) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      untyped.off(event, listener);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      untyped.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    untyped.on(event, listener);
  });
}

/** Resolves when the server has disconnected `socket`. */
export function disconnected(socket: TestSocket, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!socket.connected) return resolve('already disconnected');
    const timer = setTimeout(() => reject(new Error('socket was not disconnected')), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Records every `event` a socket receives, in order, into the returned array. */
export function record<E extends EventName>(socket: TestSocket, event: E): EventPayload<E>[] {
  const seen: EventPayload<E>[] = [];
  (socket as unknown as { on(e: string, l: (p: EventPayload<E>) => void): void }).on(event, (p) => seen.push(p));
  return seen;
}

/** Asserts an error reply: `status`, a string `error` in the body, matching `error` when given. */
export function assertError(t: Test, res: Reply, status: number, error?: string | RegExp, what = ''): void {
  t.equal(res.status, status, `status ${status} ${what}`.trim());
  t.type(res.body?.error, 'string', 'an error body');
  if (error !== undefined) t.match(res.body.error, error);
}

/** Resolves when the socket `socketId` leaves `room` on `gateway` (a join or forced leave is async). */
export function leavesRoom(gateway: Gateway, room: string, socketId: string, timeoutMs = 3000): Promise<void> {
  const adapter = gateway.io.of('/').adapter;
  return new Promise((resolve, reject) => {
    const listener = (r: string, id: string) => {
      if (r !== room || id !== socketId) return;
      clearTimeout(timer);
      adapter.off('leave-room', listener);
      resolve();
    };
    const timer = setTimeout(() => {
      adapter.off('leave-room', listener);
      reject(new Error(`socket ${socketId} did not leave ${room}`));
    }, timeoutMs);
    adapter.on('leave-room', listener);
  });
}

/**
 * Resolves once a query of this test's database waits for a lock: on `table`, or an advisory lock.
 * Polled round trip by round trip (Postgres has no event for it); used to hold a race at one point.
 */
export async function untilBlocked(sql: Resources['sql'], lock: { table: string } | 'advisory', timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_locks
      WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ${lock === 'advisory' ? sql`locktype = 'advisory'` : sql`relation = ${lock.table}::regclass`}`;
    if (row!.n > 0) return;
  }
  throw new Error(`no query is waiting for ${lock === 'advisory' ? 'an advisory lock' : lock.table}`);
}

/** A form field, or a file: `[name, bytes, filename, type?]` (type defaults per call). */
export type Part = [name: string, value: string] | [name: string, value: Buffer | string, filename: string, type?: string];

/** A multipart/form-data body as a browser's FormData encodes it, ready for `TestEnv.request`. */
export async function multipart(parts: Part[], defaultType = 'application/octet-stream'): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const data = new FormData();
  for (const [name, value, filename, type] of parts) {
    if (filename === undefined) data.append(name, value as string);
    else data.append(name, new Blob([value], { type: type ?? defaultType }), filename);
  }
  const encoded = new Request('http://localhost/', { method: 'POST', body: data });
  return { payload: Buffer.from(await encoded.arrayBuffer()), headers: { 'content-type': encoded.headers.get('content-type')! } };
}
