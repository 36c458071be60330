// The deployment files: .env.example documents every variable config.ts reads, docker-compose.yml
// is accepted by a real Compose implementation and wires the tiers as designed, and
// infra/haproxy.cfg passes `haproxy -c`. The validators come from scripts/install-tools.sh; without
// them their tests are skipped, except under CI (or REQUIRE_DEPLOY_TOOLS=1), where they must exist.
// Nothing here needs Docker, Postgres or Redis.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@nexusguild/shared/config';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(root + path, 'utf8');
const requireTools = process.env.CI === 'true' || process.env.REQUIRE_DEPLOY_TOOLS === '1';
const SECRET = 'deploy-test-secret-0123456789abcdef0123';

// An empty env file, so a developer's own .env cannot change what compose renders.
const scratch = mkdtempSync(join(tmpdir(), 'ngt-deploy-'));
const emptyEnvFile = join(scratch, 'empty.env');
writeFileSync(emptyEnvFile, '');
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
const composeArgs = ['-f', 'docker-compose.yml', '--env-file', emptyEnvFile];

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    // A clean environment: the caller's variables must not leak into compose interpolation.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
  });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '', missing: (res.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' };
}

/** Skips (or fails under CI) when a validator is not installed; true when it is there. */
function hasTool(t: Test, name: string, probe: string[]): boolean {
  if (!run(name, probe).missing) return true;
  const why = `${name} is not installed (run scripts/install-tools.sh)`;
  if (requireTools) t.fail(why);
  else t.pass(why, { skip: why });
  return false;
}

/** Variable names read in shared/src/config.ts. */
function configVariables(): Set<string> {
  const src = read('shared/src/config.ts');
  const names = new Set<string>();
  for (const m of src.matchAll(/\b(?:str|int|bool|url|oneOf)\(env, '([A-Z0-9_]+)'/g)) names.add(m[1]);
  for (const m of src.matchAll(/\benv\.([A-Z0-9_]+)/g)) names.add(m[1]);
  return names;
}

t.test('.env.example documents every config variable with its default', async (t) => {
  const lines = read('.env.example').split('\n');
  const env: Record<string, string> = {};
  lines.forEach((line, i) => {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) return;
    t.notOk(m[1] in env, `${m[1]} is set once`);
    env[m[1]] = m[2];
    t.match(lines[i - 1] ?? '', /^# \S/, `${m[1]} has a comment on the line above`);
  });
  const expected = configVariables();
  t.ok(expected.size >= 20, `found the variables in config.ts (${expected.size})`);
  t.same(Object.keys(env).sort(), [...expected].sort(), 'exactly the variables config.ts reads');

  // Loading the file gives the same configuration as loading nothing: the values are the defaults.
  const quiet = () => {};
  t.same(loadConfig(env, quiet), loadConfig({}, quiet));
  t.equal(env.SESSION_SECRET, '', 'no secret in the example');
});

t.test('Dockerfile and .dockerignore', async (t) => {
  const dockerfile = read('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  t.ok(stages.length >= 2, 'multi-stage');
  t.ok(stages.every((s) => s === 'node:20-bookworm-slim'), 'every stage on node:20-bookworm-slim');
  const installs = dockerfile.split('\n').filter((l) => /^RUN .*\bnpm (ci|install)\b/.test(l));
  t.ok(installs.some((l) => /\bnpm ci\b/.test(l)), 'installs with npm ci');
  for (const line of installs) t.notMatch(line, /--omit[= ](optional|dev)/, 'optional (native prebuilds) and dev (tsx) deps installed');
  t.match(dockerfile, /^USER (?!root\b|0\b)\S+/m, 'runs as a non-root user');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  for (const script of ['start:api', 'start:gateway', 'start:worker', 'migrate']) {
    t.match(pkg.scripts[script], /^node --import tsx /, `${script} runs through tsx`);
  }
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
  for (const entry of ['**/node_modules', '.git', '.data', '.tap']) t.ok(ignored.includes(entry), `.dockerignore has ${entry}`);
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  ports?: unknown[];
  volumes?: unknown[];
}

/** `config` output as an object: Compose v2 prints JSON itself; v1 prints YAML only. */
function composeConfig(t: Test, env: Record<string, string>): { services: Record<string, ComposeService> } | null {
  const args = [...composeArgs, 'config'];
  const json = run('docker-compose', [...args, '--format', 'json'], env);
  // (1.29 answers an unknown option with usage on stderr and exit 0, so look at what came back.)
  if (json.status === 0 && json.stdout.trimStart().startsWith('{')) return JSON.parse(json.stdout);
  const yaml = run('docker-compose', args, env);
  t.equal(yaml.status, 0, 'docker-compose config exits 0', { stderr: yaml.stderr });
  if (yaml.status !== 0) return null;
  // Debian's docker-compose (1.29) is Python and depends on PyYAML: parse its output with the
  // same interpreter its launcher names.
  const python = /^#!\s*(\S+)/.exec(readFileSync(run('sh', ['-c', 'command -v docker-compose']).stdout.trim(), 'utf8'))?.[1] ?? 'python3';
  const res = spawnSync(python, ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml.stdout, encoding: 'utf8' });
  t.equal(res.status, 0, 'compose output parses as YAML', { stderr: res.stderr });
  return res.status === 0 ? JSON.parse(res.stdout) : null;
}

t.test('docker-compose.yml is valid and wires the cluster', async (t) => {
  if (!hasTool(t, 'docker-compose', ['version'])) return;

  const quiet = run('docker-compose', [...composeArgs, 'config', '-q'], { SESSION_SECRET: SECRET });
  t.equal(quiet.status, 0, 'docker-compose config -q accepts the file', { stderr: quiet.stderr });

  const noSecret = run('docker-compose', [...composeArgs, 'config', '-q']);
  t.not(noSecret.status, 0, 'refuses to render without SESSION_SECRET');
  t.match(noSecret.stderr, /SESSION_SECRET/);

  const config = composeConfig(t, { SESSION_SECRET: SECRET });
  if (!config) return;
  const { services } = config;
  const apps = ['api1', 'api2', 'gateway1', 'gateway2', 'worker'];
  for (const name of [...apps, 'haproxy', 'postgres', 'redis', 'minio', 'migrate', 'minio-init']) {
    t.ok(services[name], `service ${name}`);
  }
  if (!apps.every((name) => services[name])) return;

  t.equal(services.postgres.image, 'postgres:15');
  t.equal(services.redis.image, 'redis:7');
  const redisCommand = [services.redis.command ?? []].flat().join(' ');
  t.match(redisCommand, /--maxmemory-policy noeviction/, 'redis never evicts (BullMQ)');
  t.match(redisCommand, /--appendonly yes/);

  const commandOf = (name: string) => [services[name].command ?? []].flat().join(' ');
  t.equal(commandOf('migrate'), 'npm run migrate');
  for (const name of ['api1', 'api2']) t.equal(commandOf(name), 'npm run start:api');
  for (const name of ['gateway1', 'gateway2']) t.equal(commandOf(name), 'npm run start:gateway');
  t.equal(commandOf('worker'), 'npm run start:worker');

  for (const name of [...apps, 'migrate']) {
    const service = services[name];
    t.equal(service.image, services.api1.image, `${name} runs the one app image`);
    // The environment compose hands each process must pass config validation as production.
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? '']));
    const cfg = loadConfig(env, () => {});
    t.equal(cfg.nodeEnv, 'production', `${name}: production`);
    t.equal(cfg.sessionSecret, SECRET, `${name}: SESSION_SECRET from the caller`);
    t.equal(cfg.trustProxy, true, `${name}: trusts haproxy`);
    t.ok(cfg.s3.endpoint, `${name}: uses MinIO`);
    t.equal(cfg.workerId, null, `${name}: claims its snowflake id from Redis`);
  }
  for (const name of apps) {
    const deps = services[name].depends_on ?? {};
    t.equal(deps.migrate?.condition, 'service_completed_successfully', `${name} waits for migrations`);
    t.equal(deps['minio-init']?.condition, 'service_completed_successfully', `${name} waits for the bucket`);
    t.equal(deps.redis?.condition, 'service_healthy', `${name} waits for redis`);
    t.equal(deps.postgres?.condition, 'service_healthy', `${name} waits for postgres`);
  }
  for (const name of ['api1', 'api2', 'gateway1', 'gateway2']) {
    t.match([services[name].healthcheck?.test ?? []].flat().join(' '), /\/readyz/, `${name} health-checked on /readyz`);
    t.equal(services.haproxy.depends_on?.[name]?.condition, 'service_healthy', `haproxy waits for ${name}`);
  }
  t.equal(services['minio-init'].depends_on?.minio?.condition, 'service_healthy');
  t.equal(services.migrate.depends_on?.postgres?.condition, 'service_healthy');
  for (const name of ['postgres', 'redis', 'minio']) t.ok(services[name].healthcheck, `${name} has a healthcheck`);

  const published = JSON.stringify(services.haproxy.ports ?? []);
  t.match(published, /3000/, 'haproxy publishes port 3000');
  for (const name of apps) t.notOk(services[name].ports, `${name} is reached only through haproxy`);
  t.match(JSON.stringify(services.haproxy.volumes ?? []), /infra\/haproxy\.cfg/, 'haproxy mounts infra/haproxy.cfg');
});

t.test('infra/haproxy.cfg routes as designed', async (t) => {
  const cfg = read('infra/haproxy.cfg');
  const section = (header: string) => {
    const start = cfg.indexOf(`\n${header}\n`);
    t.not(start, -1, `has section "${header}"`);
    const rest = cfg.slice(start + header.length + 2);
    const end = rest.search(/^\S/m);
    return end === -1 ? rest : rest.slice(0, end);
  };
  // `npm run cluster` points the same file at local processes through "${NG_*-default}"
  // variables; the defaults are what docker-compose.yml gets.
  const addr = (variable: string, fallback: string) => `"\\$\\{${variable}-${fallback}\\}"`;
  const defaults = section('defaults');
  t.match(defaults, /^\s+option redispatch( 1)?$/m);
  t.match(defaults, /^\s+timeout tunnel 1h$/m);
  t.match(defaults, /^\s+default-server .*init-addr last,libc,none/m);

  const frontend = section('frontend public');
  t.match(frontend, new RegExp(`^\\s+bind ${addr('NG_PUBLIC_BIND', ':3000')}$`, 'm'));
  t.match(frontend, /^\s+http-request deny .*\/metrics/m, '/metrics is internal');
  t.match(frontend, /path_beg \/socket\.io\//);
  t.match(frontend, /path_beg \/api\/ \/uploads\//);

  const api = section('backend api');
  t.match(api, /^\s+balance roundrobin$/m);
  t.match(api, /uri \/readyz/);
  t.match(api, new RegExp(`^\\s+server api1 ${addr('NG_API1', 'api1:3000')}`, 'm'));
  t.match(api, new RegExp(`^\\s+server api2 ${addr('NG_API2', 'api2:3000')}`, 'm'));

  const gateways = section('backend gateways');
  t.match(gateways, /^\s+cookie \S+ insert/m, 'cookie-sticky for long-polling');
  t.match(gateways, /uri \/readyz/);
  t.match(gateways, new RegExp(`^\\s+server gateway1 ${addr('NG_GATEWAY1', 'gateway1:3000')} .*cookie gateway1`, 'm'));
  t.match(gateways, new RegExp(`^\\s+server gateway2 ${addr('NG_GATEWAY2', 'gateway2:3000')} .*cookie gateway2`, 'm'));

  if (!hasTool(t, 'haproxy', ['-v'])) return;
  const check = run('haproxy', ['-c', '-f', 'infra/haproxy.cfg']);
  t.equal(check.status, 0, 'haproxy -c accepts the file', { stderr: check.stderr });
  // The only acceptable warnings: compose hostnames that do not resolve outside the cluster.
  const warnings = check.stderr.split('\n').filter((l) => /\[(WARNING|ALERT)\]/.test(l));
  t.same(warnings.filter((l) => !/could not resolve address '(api|gateway)\d+'/.test(l)), [], 'no other warnings');
});

interface K8sObject {
  kind: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are read as plain JSON
  data?: Record<string, string>;
  resources?: string[];
}

t.test('infra/k8s manifests describe every tier', async (t) => {
  // PyYAML comes with docker-compose v1 (it is Python): parse with the interpreter it runs on.
  if (!hasTool(t, 'docker-compose', ['version'])) return;
  const python = /^#!\s*(\S+)/.exec(readFileSync(run('sh', ['-c', 'command -v docker-compose']).stdout.trim(), 'utf8'))?.[1] ?? 'python3';
  const script = 'import glob, json, sys, yaml; json.dump({f: [d for d in yaml.safe_load_all(open(f)) if d] for f in sorted(glob.glob("infra/k8s/*.yaml"))}, sys.stdout)';
  const res = spawnSync(python, ['-c', script], { cwd: root, encoding: 'utf8' });
  t.equal(res.status, 0, 'every manifest parses as YAML', { stderr: res.stderr });
  if (res.status !== 0) return;
  const files = JSON.parse(res.stdout) as Record<string, K8sObject[]>;
  const objects = Object.values(files).flat();
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name);

  const kustomization = files['infra/k8s/kustomization.yaml']?.[0];
  t.same([...(kustomization?.resources ?? [])].sort(), Object.keys(files).map((f) => f.slice('infra/k8s/'.length)).filter((f) => f !== 'kustomization.yaml').sort(), 'kustomization lists every manifest');

  const settings = find('ConfigMap', 'nexusguild')?.data ?? {};
  const cfg = loadConfig({ ...settings, SESSION_SECRET: SECRET, S3_ENDPOINT: 'https://s3.example.com' }, () => {});
  t.equal(cfg.nodeEnv, 'production');
  t.equal(cfg.trustProxy, true, 'trusts the ingress');
  t.equal(cfg.workerId, null, 'pods lease their snowflake ids');

  for (const tier of ['api', 'gateway', 'worker']) {
    const deployment = find('Deployment', tier);
    t.ok(deployment, `Deployment ${tier}`);
    const pod = deployment?.spec?.template?.spec;
    const container = pod?.containers?.[0];
    t.match((container?.command ?? []).join(' '), `services/${tier}/src/main.ts`, `${tier} runs its own entry point`);
    t.equal(container?.readinessProbe?.httpGet?.path, '/readyz', `${tier} readiness on /readyz`);
    t.ok(pod?.terminationGracePeriodSeconds > 10, `${tier} grace period outlasts the 10 s shutdown timeout`);
    t.ok(find('HorizontalPodAutoscaler', tier)?.spec?.scaleTargetRef?.name === tier, `HPA for ${tier}`);
    t.ok(find('PodDisruptionBudget', tier), `PDB for ${tier}`);
  }
  t.ok(find('Service', 'api') && find('Service', 'gateway'), 'Services for api and gateway');

  const ingresses = objects.filter((o) => o.kind === 'Ingress');
  const routes = ingresses.flatMap((i) => i.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => [p.path, p.backend.service.name]))); // eslint-disable-line @typescript-eslint/no-explicit-any
  t.same(routes.sort(), [['/api', 'api'], ['/socket.io', 'gateway'], ['/uploads', 'api']], 'routes /api, /uploads and /socket.io only (no /metrics)');
  const gatewayIngress = find('Ingress', 'gateway')?.metadata?.annotations ?? {};
  t.ok(Number(gatewayIngress['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 3600, 'websockets may stay open');
  t.equal(gatewayIngress['nginx.ingress.kubernetes.io/affinity'], 'cookie', 'sticky for long-polling');
});
