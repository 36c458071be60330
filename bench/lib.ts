// What every scenario of the Node load driver shares: its options (the k6 scenarios' settings,
// from the same variable names or --flags), REST calls with fetch, the target's CPU and memory
// from /proc, an open-loop scheduler, and the report (a summary line plus one JSON line, with the
// k6 thresholds of the scenario evaluated on the same metrics).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { THRESHOLDS, account, cookiePair, multipart, passes, percentile, settings, type Aggregates, type ScenarioName, type Settings } from '../k6/lib/scenarios.ts';

export interface Options extends Settings {
  /** Target processes whose CPU and RSS are reported (--pids 123,456). */
  pids: number[];
  /** Rates to step through (--rates 50,100,200): chat-fanout and ceiling report each step. */
  rates: number[];
  /** Sockets to hold (memory: --steps 2000,10000). */
  steps: number[];
  /** /metrics URLs of the gateways (memory: heap beside RSS). */
  metrics: string[];
  /** Seconds to hold the sockets open after the last step (memory: time to take a heap snapshot). */
  hold: number;
}

const FLAGS = ['url', 'receivers', 'senders', 'rate', 'duration', 'readers', 'read-rate', 'limit', 'seed', 'users', 'run-id'] as const;

export function options(argv = process.argv.slice(3)): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
      pids: { type: 'string' },
      rates: { type: 'string' },
      steps: { type: 'string' },
      metrics: { type: 'string' },
      hold: { type: 'string' },
    },
  });
  const v = values as Record<string, string | undefined>;
  const env: Record<string, string | undefined> = { ...process.env };
  for (const f of FLAGS) {
    const name = f === 'url' ? 'BASE_URL' : f.replace('-', '_').toUpperCase();
    if (v[f] !== undefined) env[name] = v[f];
  }
  const list = (raw: string | undefined) => (raw ? raw.split(',').map((x) => x.trim()).filter(Boolean) : []);
  const s = settings(env);
  return {
    ...s,
    pids: list(v.pids ?? env.BENCH_PIDS).map(Number),
    rates: list(v.rates).map(Number),
    steps: list(v.steps).map(Number),
    metrics: list(v.metrics ?? env.BENCH_METRICS),
    hold: Number(v.hold ?? 0),
  };
}

export interface User {
  id: string;
  cookie: string;
}

/** Keep-alive connections for every REST call of the driver. */
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 512 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 512 }) };

/**
 * One REST call, answered as a fetch Response. Sent with node:http rather than fetch: the driver
 * shares the machine's cores with the target, and fetch cost it about 1.5× the CPU per request.
 */
export function call(o: Settings, method: string, path: string, init: { cookie?: string; json?: unknown; body?: string; contentType?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  let body: string | undefined = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (init.contentType) headers['content-type'] = init.contentType;
  const url = new URL(path, o.baseUrl);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method, headers, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const replyHeaders = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) replyHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: replyHeaders }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectJson<T>(res: Response, status: number, what: string): Promise<T> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as T;
}

function sessionOf(res: Response): string {
  const pair = cookiePair(res.headers.getSetCookie());
  if (!pair) throw new Error('no session cookie in the response');
  return pair;
}

export async function register(o: Settings, role: string, i: number): Promise<User> {
  const res = await call(o, 'POST', '/api/auth/register', { json: account(o, role, i) });
  const user = await expectJson<{ id: string }>(res, 201, 'register');
  return { id: user.id, cookie: sessionOf(res) };
}

export async function login(o: Settings, role: string, i: number): Promise<{ res: Response; user: User | null }> {
  const a = account(o, role, i);
  const res = await call(o, 'POST', '/api/auth/login', { json: { email: a.email, password: a.password } });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return { res, user: null };
  }
  return { res, user: { id: ((await res.json()) as { id: string }).id, cookie: sessionOf(res) } };
}

export async function createGuild(o: Settings, owner: User): Promise<{ serverId: string; channelId: string; code: string }> {
  const server = await expectJson<{ id: string }>(await call(o, 'POST', '/api/servers', { cookie: owner.cookie, json: { name: `load ${o.runId}` } }), 201, 'create server');
  const channels = await expectJson<{ id: string; name: string }[]>(await call(o, 'GET', `/api/channels/${server.id}`, { cookie: owner.cookie }), 200, 'list channels');
  const general = channels.find((c) => c.name === 'general');
  if (!general) throw new Error('the new server has no general channel');
  const invite = await expectJson<{ code: string }>(await call(o, 'POST', `/api/servers/${server.id}/invites`, { cookie: owner.cookie, json: {} }), 201, 'create invite');
  return { serverId: server.id, channelId: general.id, code: invite.code };
}

export async function joinGuild(o: Settings, user: User, code: string): Promise<void> {
  await expectJson(await call(o, 'POST', '/api/servers/join', { cookie: user.cookie, json: { code } }), 200, 'join server');
}

/** Registers `n` users of `role` (a few at a time) and makes them members through `code`. */
export async function members(o: Settings, role: string, n: number, code: string | null): Promise<User[]> {
  const users: User[] = [];
  for (let i = 0; i < n; i += 8) {
    users.push(...(await Promise.all(Array.from({ length: Math.min(8, n - i) }, async (_, j) => {
      const user = await register(o, role, i + j);
      if (code) await joinGuild(o, user, code);
      return user;
    }))));
  }
  return users;
}

/** Sends a text message as the guide does (multipart/form-data). */
export function sendMessage(o: Settings, user: User, channelId: string, content: string): Promise<Response> {
  const { body, contentType } = multipart({ content });
  return call(o, 'POST', `/api/messages/${channelId}`, { cookie: user.cookie, body, contentType });
}

export function readHistory(o: Settings, user: User, channelId: string, before?: string): Promise<Response> {
  return call(o, 'GET', `/api/messages/${channelId}?limit=${o.limit}${before ? `&before=${before}` : ''}`, { cookie: user.cookie });
}


/** CPU and RSS of the target processes, from /proc (Linux). */
export function targetSampler(pids: number[]) {
  const ticks = 100; // USER_HZ on Linux
  const cpu = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks; // utime + stime, seconds
  };
  const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  const start = { at: performance.now(), cpu: pids.map(cpu) };
  let peak = pids.map(rss);
  const timer = setInterval(() => (peak = pids.map((p, i) => Math.max(peak[i], rss(p)))), 500);
  timer.unref();
  return {
    rss: () => pids.reduce((sum, p) => sum + rss(p), 0),
    stop() {
      clearInterval(timer);
      const seconds = (performance.now() - start.at) / 1000;
      const used = pids.map((p, i) => cpu(p) - start.cpu[i]);
      return {
        target_pids: pids,
        target_cpu_percent: pids.length ? Math.round((used.reduce((a, b) => a + b, 0) / seconds) * 100) : null,
        target_rss_mb_end: pids.length ? Math.round(pids.reduce((sum, p) => sum + rss(p), 0) / 1048576) : null,
        target_rss_mb_peak: pids.length ? Math.round(peak.reduce((a, b) => a + b, 0) / 1048576) : null,
      };
    },
  };
}

/**
 * Calls `fire(n)` at `rate` per second for `seconds`, on schedule whatever the previous calls
 * are doing (open loop: a slow target does not slow the offered load). Resolves when all calls
 * settled, with the offered rate (what was scheduled, measured).
 */
export async function openLoop(rate: number, seconds: number, fire: (n: number) => Promise<void>): Promise<{ offered: number; started: number; elapsed: number }> {
  const total = Math.round(rate * seconds);
  const pending: Promise<void>[] = [];
  const started = performance.now();
  for (let n = 0; n < total; n++) {
    const wait = started + (n * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(fire(n).catch(() => {}));
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(pending);
  // Calls 1..N went out over `elapsed`: N-1 intervals. Below `rate` when the driver fell behind.
  return { offered: total > 1 ? (total - 1) / elapsed : total / seconds, started, elapsed };
}

/** Counts of failures by HTTP status (or error name). */
export class Errors {
  readonly byStatus: Record<string, number> = {};
  add(key: string | number) {
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
  }
  get total() {
    return Object.values(this.byStatus).reduce((a, b) => a + b, 0);
  }
}

export const round = (n: number, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

/** p50/p95/p99/max of samples (ms). */
export function latency(samples: number[], name: string) {
  const sorted = samples.slice().sort((a, b) => a - b);
  return {
    sorted,
    summary: {
      [`${name}_count`]: sorted.length,
      [`${name}_p50_ms`]: round(percentile(sorted, 50)),
      [`${name}_p95_ms`]: round(percentile(sorted, 95)),
      [`${name}_p99_ms`]: round(percentile(sorted, 99)),
      [`${name}_max_ms`]: round(sorted.at(-1) ?? NaN),
    },
  };
}

/** The k6 thresholds of `scenario`, evaluated on the same metrics: { "metric: expr": pass }. */
export function thresholds(scenario: ScenarioName, metrics: Record<string, Aggregates>): Record<string, boolean> {
  const verdicts: Record<string, boolean> = {};
  for (const [metric, expressions] of Object.entries(THRESHOLDS[scenario])) {
    if (!metrics[metric]) continue;
    for (const e of expressions) verdicts[`${metric}: ${e}`] = passes(e, metrics[metric]);
  }
  return verdicts;
}

/** Prints a one-line human summary and the JSON line. */
export function report(summary: string, result: Record<string, unknown>): void {
  console.log(summary);
  // The 1-minute load average says how busy the shared machine was (2 cores: above 2 is contention).
  console.log(JSON.stringify({ date: new Date().toISOString(), ...result, loadavg_1m: round(loadavg()[0], 1) }));
}
