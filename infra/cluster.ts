// `npm run cluster`: the split deployment on one machine, without Docker. Migrates once, starts
// the embedded S3 server when S3_ENDPOINT is unset, then 2 API, 2 gateway and 1 worker processes
// from their own entry points, and HAProxy (infra/haproxy.cfg, pointed at them through its NG_*
// variables) as the one origin on PORT. Ctrl-C or SIGTERM stops everything it started.
//
// Settings: the usual variables (.env.example) for every node, plus CLUSTER_API_PORTS (default
// 3001,3002), CLUSTER_GATEWAY_PORTS (3011,3012), CLUSTER_WORKER_METRICS_PORT (3021) and
// CLUSTER_STATS_PORT (8404, HAProxy's stats page). Nodes listen on 127.0.0.1; only HAProxy
// listens on HOST.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '@nexusguild/shared/config';
import { prepareDatabase } from '@nexusguild/shared/db/index';
import { createStorage } from '@nexusguild/shared/storage';
import { startEmbeddedS3, type EmbeddedS3 } from '@nexusguild/standalone/embedded-s3';

const root = fileURLToPath(new URL('..', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
/** Longer than a node's own shutdown timeout (shared/src/shutdown.ts, 10 s), so nodes time out first. */
const STOP_TIMEOUT_MS = 15_000;

interface Node {
  name: string;
  /** Where it answers /readyz (and /metrics). */
  url: string;
  child: ChildProcess;
  exited: Promise<number | string>;
}

function fail(message: string): never {
  console.error(`cluster: ${message}`);
  process.exit(1);
}

function ports(name: string, fallback: string, count: number): number[] {
  const list = (process.env[name] || fallback).split(',').map((p) => p.trim());
  // HAProxy's config has exactly two server lines per tier (see infra/README.md to add more).
  if (list.length !== count || !list.every((p) => /^\d+$/.test(p) && Number(p) > 0 && Number(p) < 65536)) {
    fail(`${name} must be ${count} comma-separated ports, got "${list.join(',')}"`);
  }
  return list.map(Number);
}

const config = loadConfigOrExit();
const [api1, api2] = ports('CLUSTER_API_PORTS', '3001,3002', 2);
const [gateway1, gateway2] = ports('CLUSTER_GATEWAY_PORTS', '3011,3012', 2);
const [workerPort] = ports('CLUSTER_WORKER_METRICS_PORT', '3021', 1);
const [statsPort] = ports('CLUSTER_STATS_PORT', '8404', 1);
const used = [config.port, api1, api2, gateway1, gateway2, workerPort, statsPort];
if (new Set(used).size !== used.length) fail(`ports must all differ: PORT and the CLUSTER_* ports are ${used.join(', ')}`);
if (spawnSync('haproxy', ['-v']).error) fail('haproxy is not installed (run: sudo bash scripts/install-tools.sh)');

console.log(`cluster: origin :${config.port} (HAProxy), API ${api1},${api2}, gateways ${gateway1},${gateway2}, worker metrics ${workerPort}, HAProxy stats ${statsPort}`);

// Shared dependencies first, once: nodes neither migrate nor create the bucket.
let s3: EmbeddedS3 | null = null;
let s3Endpoint = config.s3.endpoint;
if (!s3Endpoint) {
  s3 = await startEmbeddedS3(`${config.dataDir}/s3`);
  s3Endpoint = s3.endpoint;
  console.log(`cluster: embedded S3 on ${s3Endpoint} (data in ${config.dataDir}/s3)`);
}
await prepareDatabase(config.databaseUrl);
const storage = createStorage({ ...config.s3, endpoint: s3Endpoint });
await storage.ensureBucket();
storage.close();

const nodes: Node[] = [];
let stopping = false;

function start(name: string, command: string, args: string[], env: Record<string, string>, url: string): Node {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only this process, which then sends each node one
    // SIGTERM. (A node hit by both the terminal's SIGINT and our SIGTERM would take the second
    // signal as "exit now" and skip its graceful shutdown.)
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => console.log(`${name.padEnd(8)} | ${line}`));
  }
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const node: Node = { name, url, child, exited };
  nodes.push(node);
  exited.then((status) => {
    if (stopping) return;
    console.log(`cluster: ${name} (pid ${child.pid}) ${typeof status === 'number' ? `exited with code ${status}` : `was killed by ${status}`}`);
    // Without HAProxy there is no origin: stop everything. A node's death is reported and the
    // others keep serving, as they would in production (that is what the cluster is for).
    if (name === 'haproxy') void stop(1);
  });
  return node;
}

/** Polls `url` until it answers 200; fails if the node exits first or takes too long. */
async function untilReady(node: Node, url = `${node.url}/readyz`): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void node.exited.then(() => (exited = true));
  while (!exited && Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${node.name} ${exited ? 'exited' : `was not ready after ${READY_TIMEOUT_MS / 1000} s`} before answering ${url}`);
}

async function stop(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => {}); // already on its way out
  stopping = true;
  const live = nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  console.log(`cluster: stopping ${live.map((n) => n.name).join(', ') || 'nothing'}`);
  for (const node of live) node.child.kill('SIGTERM');
  const statuses = await Promise.all(live.map(async (node) => {
    const timer = setTimeout(() => {
      console.log(`cluster: ${node.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s: SIGKILL`);
      node.child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    const status = await node.exited;
    clearTimeout(timer);
    // Node processes exit 0 after a graceful shutdown; HAProxy's SIGTERM is a (clean) hard stop.
    const clean = status === 0 || (node.name === 'haproxy' && status === 'SIGTERM');
    if (!clean) console.log(`cluster: ${node.name} stopped with ${status}`);
    return clean;
  }));
  await s3?.close();
  console.log('cluster: stopped');
  process.exit(statuses.every(Boolean) ? code : 1);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// If this process dies some other way, take the detached nodes with it.
process.on('exit', () => {
  for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
});

const nodeEnv = {
  HOST: '127.0.0.1',
  S3_ENDPOINT: s3Endpoint,
  // Every process leases its own snowflake worker id from Redis: a fixed one would be shared.
  WORKER_ID: '',
  TRUST_PROXY: 'true', // HAProxy sets X-Forwarded-For
};
/** HAProxy needs two descriptors per connection plus some of its own, within the hard limit. */
function haproxyMaxconn(): number {
  const limit = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim());
  return Number.isFinite(limit) ? Math.max(256, Math.min(20_000, Math.floor((limit - 200) / 2))) : 4096;
}
const tsx = (entry: string): [string, string[]] => [process.execPath, ['--import', 'tsx', entry]];
const local = (port: number) => `http://127.0.0.1:${port}`;
const api = tsx('services/api/src/main.ts');
const gateway = tsx('services/gateway/src/main.ts');
const worker = tsx('services/worker/src/main.ts');

try {
  const apps = [
    start('api1', ...api, { ...nodeEnv, PORT: String(api1) }, local(api1)),
    start('api2', ...api, { ...nodeEnv, PORT: String(api2) }, local(api2)),
    start('gateway1', ...gateway, { ...nodeEnv, PORT: String(gateway1) }, local(gateway1)),
    start('gateway2', ...gateway, { ...nodeEnv, PORT: String(gateway2) }, local(gateway2)),
    start('worker', ...worker, { ...nodeEnv, METRICS_PORT: String(workerPort) }, local(workerPort)),
  ];
  await Promise.all(apps.map((node) => untilReady(node)));

  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const origin = `http://${host}:${config.port}`;
  const proxy = start('haproxy', 'haproxy', ['-f', 'infra/haproxy.cfg'], {
    NG_MAXCONN: String(haproxyMaxconn()),
    NG_PUBLIC_BIND: `${config.host}:${config.port}`,
    NG_STATS_BIND: `127.0.0.1:${statsPort}`,
    NG_API1: `127.0.0.1:${api1}`,
    NG_API2: `127.0.0.1:${api2}`,
    NG_GATEWAY1: `127.0.0.1:${gateway1}`,
    NG_GATEWAY2: `127.0.0.1:${gateway2}`,
  }, origin);
  await untilReady(proxy); // /readyz through HAProxy: an API node answered

  console.log(`NexusGuild cluster is up on ${origin} (HAProxy stats on http://127.0.0.1:${statsPort}/)`);
  for (const node of [...apps, proxy]) {
    console.log(`  ${node.name.padEnd(9)} pid ${String(node.child.pid).padEnd(8)} ${node === proxy ? origin : node.url}`);
  }
  console.log('Ctrl-C stops everything.');
} catch (err) {
  console.error(`cluster: ${(err as Error).message}`);
  await stop(1);
}
