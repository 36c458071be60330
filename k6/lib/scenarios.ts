// Owns what the load scenarios are, once, for both runners: the k6 scripts (operators, against a
// deployment) and the Node driver (bench/, here). Their settings (from `-e` variables in k6, from
// the same names in the Node driver), their thresholds (k6 expressions; the Node driver evaluates
// the same ones), the message body (multipart, as the guide sends it) and the content format that
// carries the send time for send→deliver latency. Pure: imports nothing, reads no globals.

export const SCENARIOS = ['smoke', 'chat-fanout', 'history-read', 'login-storm', 'reconnect-storm'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Settings {
  /** BASE_URL: the deployment's origin (REST and socket.io). */
  baseUrl: string;
  /** RECEIVERS: sockets joined to the one channel (chat-fanout). */
  receivers: number;
  /** SENDERS: users posting over REST (chat-fanout). */
  senders: number;
  /** RATE: arrivals per second: messages (chat-fanout), logins (login-storm), reconnects (reconnect-storm). */
  rate: number;
  /** DURATION: seconds of load after setup. */
  duration: number;
  /** READERS: concurrent history readers (history-read). */
  readers: number;
  /** READ_RATE: pages per second the readers start in all (history-read); 0 reads back to back. */
  readRate: number;
  /** LIMIT: history page size (history-read). */
  limit: number;
  /** SEED: messages written before history-read measures. */
  seed: number;
  /** USERS: accounts in the pool (login-storm, reconnect-storm). */
  users: number;
  /** PASSWORD: of every account the scenarios register. */
  password: string;
  /** RUN_ID: makes this run's usernames and emails unique. */
  runId: string;
}

type Env = Record<string, string | undefined>;

function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

/** The settings of a run from environment-like variables (k6: `__ENV`, Node: process.env + flags). */
export function settings(env: Env, now = Date.now()): Settings {
  return {
    baseUrl: (env.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    receivers: num(env, 'RECEIVERS', 100, 1, 20_000),
    senders: num(env, 'SENDERS', 4, 1, 1000),
    rate: num(env, 'RATE', 20, 0.1, 100_000),
    duration: num(env, 'DURATION', 30, 1, 86_400),
    readers: num(env, 'READERS', 32, 1, 10_000),
    readRate: num(env, 'READ_RATE', 0, 0, 100_000),
    limit: num(env, 'LIMIT', 50, 1, 100),
    seed: num(env, 'SEED', 500, 0, 100_000),
    users: num(env, 'USERS', 50, 1, 100_000),
    password: env.PASSWORD || 'load-test-password',
    runId: (env.RUN_ID || now.toString(36)).replace(/[^a-z0-9]/gi, '').slice(0, 12),
  };
}

/** A unique account for user `i` of this run (usernames 2–32 characters, per the guide). */
export function account(s: Settings, role: string, i: number): { username: string; email: string; password: string } {
  const username = `${role}${s.runId}${i}`.slice(0, 32);
  return { username, email: `${username}@load.invalid`, password: s.password };
}

/**
 * Thresholds per scenario, as k6 expressions over the metrics both runners record:
 * - `delivery_latency` (Trend, ms): REST send → `message_created` received, per receiver;
 * - `deliveries_lost` / `deliveries_duplicated` (Counter): expected minus received, extra copies;
 * - `history_latency` (Trend, ms), `login_latency` (Trend, ms: login + me + servers + socket
 *   connected + joined), `reconnect_latency` (Trend, ms: websocket open → joined ack);
 * - `http_req_failed` (Rate), `checks` (Rate), as k6 defines them.
 * The targets of issue 7 are the fan-out p99 < 250 ms with zero loss and history p99 ≤ 20 ms.
 */
export const THRESHOLDS: Record<ScenarioName, Record<string, string[]>> = {
  smoke: { checks: ['rate==1'], http_req_failed: ['rate==0'] },
  'chat-fanout': {
    delivery_latency: ['p(99)<250'],
    deliveries_lost: ['count==0'],
    deliveries_duplicated: ['count==0'],
    http_req_failed: ['rate<0.001'],
  },
  'history-read': { history_latency: ['p(99)<=20'], http_req_failed: ['rate==0'] },
  'login-storm': { login_latency: ['p(95)<1000', 'p(99)<2000'], http_req_failed: ['rate<0.01'], checks: ['rate>0.99'] },
  'reconnect-storm': { reconnect_latency: ['p(95)<200', 'p(99)<500'], checks: ['rate>0.99'] },
};

/** The aggregates a threshold can name, computed by the Node driver. */
export interface Aggregates {
  /** Sorted samples of a Trend. */
  trend?: number[];
  count?: number;
  rate?: number;
}

/** Evaluates one k6 threshold expression (`p(99)<250`, `count==0`, `rate>0.99`, `max<=5`, `avg<3`). */
export function passes(expression: string, m: Aggregates): boolean {
  const match = /^\s*(p\((\d+(?:\.\d+)?)\)|avg|min|max|med|count|rate)\s*(<=|>=|==|===|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expression);
  if (!match) throw new Error(`unsupported threshold expression: ${expression}`);
  const [, agg, p, op, rhs] = match;
  const t = m.trend ?? [];
  let value: number;
  if (p !== undefined) value = percentile(t, Number(p));
  else if (agg === 'avg') value = t.length ? t.reduce((a, b) => a + b, 0) / t.length : NaN;
  else if (agg === 'min') value = t.length ? t[0] : NaN;
  else if (agg === 'max') value = t.length ? t[t.length - 1] : NaN;
  else if (agg === 'med') value = percentile(t, 50);
  else if (agg === 'count') value = m.count ?? 0;
  else value = m.rate ?? NaN;
  const limit = Number(rhs);
  switch (op) {
    case '<': return value < limit;
    case '<=': return value <= limit;
    case '>': return value > limit;
    case '>=': return value >= limit;
    case '!=': return value !== limit;
    default: return value === limit;
  }
}

/** The p-th percentile (nearest rank, like k6's) of sorted samples; NaN when there are none. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.min(sorted.length - 1, rank)];
}

const CONTENT = /^load (\d+(?:\.\d+)?) (\d+) (\d+)$/;

/** A message's content carrying its send time (ms since the epoch), sender and sequence number. */
export function messageContent(sentAt: number, sender: number, seq: number): string {
  return `load ${sentAt.toFixed(3)} ${sender} ${seq}`;
}

/** The send time, sender and sequence number in a message's content; null for foreign messages. */
export function parseContent(content: unknown): { sentAt: number; sender: number; seq: number } | null {
  const m = typeof content === 'string' ? CONTENT.exec(content) : null;
  return m ? { sentAt: Number(m[1]), sender: Number(m[2]), seq: Number(m[3]) } : null;
}

/** A multipart/form-data body of text fields, as the guide's FormData sends a message. */
export function multipart(fields: Record<string, string>, boundary = '----nexusguild-load-7f3a9c'): { body: string; contentType: string } {
  let body = '';
  for (const [name, value] of Object.entries(fields)) {
    body += `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  body += `--${boundary}--\r\n`;
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The cookie pair (`name=value`) of a Set-Cookie header value, or null. */
export function cookiePair(setCookie: string | string[] | null | undefined): string | null {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (!first) return null;
  const pair = first.split(';')[0].trim();
  return pair.includes('=') ? pair : null;
}
