// Configuration from the environment: working local defaults, and every bad value stops boot with
// a ConfigError that names the variable. loadConfig is pure: each test passes its own env.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ConfigError, loadConfig, type Config } from './config.ts';

const SECRET = 'a-session-secret-of-at-least-32-chars!';

/** loadConfig with a captured warn callback. */
function load(env: Record<string, string | undefined>): { config: Config; warnings: string[] } {
  const warnings: string[] = [];
  const config = loadConfig(env, (msg) => warnings.push(msg));
  return { config, warnings };
}

/** Asserts that `env` is refused with a ConfigError whose message names `variable`. */
function refuses(t: Test, env: Record<string, string | undefined>, variable: string, why = `refuses ${JSON.stringify(env)}`) {
  try {
    loadConfig({ SESSION_SECRET: SECRET, ...env }, () => {});
  } catch (err) {
    t.ok(err instanceof ConfigError, `${why}: a ConfigError, not ${(err as Error)?.constructor?.name}`);
    t.match((err as Error).message, variable, `${why}: names ${variable}`);
    return;
  }
  t.fail(`${why}: accepted`);
}

t.test('defaults give a working local setup', async (t) => {
  const { config, warnings } = load({});
  t.equal(config.nodeEnv, 'development');
  t.equal(config.port, 3000);
  t.equal(config.host, '0.0.0.0');
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(new URL(config.databaseUrl).pathname, '/nexusguild', 'database named nexusguild');
  t.match(config.databaseUrl, /^postgres(ql)?:\/\//);
  t.equal(config.rateLimitEnabled, true);
  t.equal(config.maxUploadBytes, 25 * 1024 * 1024);
  t.equal(config.cookieSecure, false, 'plain http works locally');
  t.equal(config.trustProxy, false);
  t.same(config.corsOrigins, []);
  t.equal(config.livekit, null);
  t.equal(config.workerId, null, 'claim a worker id at boot');
  t.equal(config.redisPrefix, 'ng:');
  t.equal(config.s3.endpoint, null);
  t.ok(config.sessionSecret.length >= 32, 'a usable development secret');
  t.equal(warnings.length, 1);
});

t.test('SESSION_SECRET', async (t) => {
  t.test('is required in production', async (t) => {
    refuses(t, { NODE_ENV: 'production', SESSION_SECRET: undefined }, 'SESSION_SECRET');
    refuses(t, { NODE_ENV: 'production', SESSION_SECRET: '' }, 'SESSION_SECRET');
  });

  t.test('outside production its absence warns and a development secret is used', async (t) => {
    for (const nodeEnv of [undefined, 'development', 'test']) {
      const { config, warnings } = load({ NODE_ENV: nodeEnv });
      t.equal(warnings.length, 1, `warns once (NODE_ENV=${nodeEnv})`);
      t.match(warnings[0], 'SESSION_SECRET');
      t.ok(config.sessionSecret.length >= 32);
    }
  });

  t.test('a set secret is used as given and does not warn', async (t) => {
    const { config, warnings } = load({ NODE_ENV: 'production', SESSION_SECRET: SECRET });
    t.equal(config.sessionSecret, SECRET);
    t.same(warnings, []);
  });

  t.test('a short secret is refused, in any environment', async (t) => {
    refuses(t, { SESSION_SECRET: 'x'.repeat(31) }, 'SESSION_SECRET');
    refuses(t, { NODE_ENV: 'production', SESSION_SECRET: 'short' }, 'SESSION_SECRET');
    t.equal(load({ SESSION_SECRET: 'x'.repeat(32) }).config.sessionSecret, 'x'.repeat(32), '32 characters is enough');
  });
});

t.test('whole numbers', async (t) => {
  t.equal(load({ PORT: '8080' }).config.port, 8080);
  t.equal(load({ PORT: '0' }).config.port, 0, 'port 0: any free port');
  t.equal(load({ PORT: '' }).config.port, 3000, 'empty means default');
  for (const bad of ['abc', '-1', '65536', '3000.5', '1e3', ' 80', '0x50']) refuses(t, { PORT: bad }, 'PORT');
  t.equal(load({ MAX_UPLOAD_BYTES: '1048576' }).config.maxUploadBytes, 1048576);
  refuses(t, { MAX_UPLOAD_BYTES: '0' }, 'MAX_UPLOAD_BYTES');
  refuses(t, { MAX_UPLOAD_BYTES: '25MB' }, 'MAX_UPLOAD_BYTES');
  t.equal(load({ WORKER_ID: '0' }).config.workerId, 0);
  t.equal(load({ WORKER_ID: '1023' }).config.workerId, 1023);
  t.equal(load({ WORKER_ID: '' }).config.workerId, null);
  refuses(t, { WORKER_ID: '1024' }, 'WORKER_ID');
  refuses(t, { WORKER_ID: 'seven' }, 'WORKER_ID');
});

t.test('booleans', async (t) => {
  for (const yes of ['1', 'true', 'TRUE', 'yes', 'on']) t.equal(load({ RATE_LIMIT_ENABLED: yes }).config.rateLimitEnabled, true, yes);
  for (const no of ['0', 'false', 'False', 'no', 'off']) t.equal(load({ RATE_LIMIT_ENABLED: no }).config.rateLimitEnabled, false, no);
  t.equal(load({ TRUST_PROXY: 'true' }).config.trustProxy, true);
  for (const bad of ['maybe', 'enabled', '2', 'truee']) refuses(t, { RATE_LIMIT_ENABLED: bad }, 'RATE_LIMIT_ENABLED');
  refuses(t, { TRUST_PROXY: 'y' }, 'TRUST_PROXY');
  refuses(t, { COOKIE_SECURE: 'sometimes' }, 'COOKIE_SECURE');
});

t.test('COOKIE_SECURE defaults to true in production only, and can be overridden', async (t) => {
  t.equal(load({ NODE_ENV: 'production', SESSION_SECRET: SECRET }).config.cookieSecure, true);
  t.equal(load({ NODE_ENV: 'production', SESSION_SECRET: SECRET, COOKIE_SECURE: 'false' }).config.cookieSecure, false);
  t.equal(load({ NODE_ENV: 'development' }).config.cookieSecure, false);
  t.equal(load({ COOKIE_SECURE: 'true' }).config.cookieSecure, true);
  t.equal(load({ NODE_ENV: 'production', SESSION_SECRET: SECRET }).config.logLevel, 'info');
});

t.test('URLs', async (t) => {
  t.equal(load({ REDIS_URL: 'rediss://cache.internal:6380/2' }).config.redisUrl, 'rediss://cache.internal:6380/2');
  t.equal(load({ DATABASE_URL: 'postgresql://u:p@db:5432/x' }).config.databaseUrl, 'postgresql://u:p@db:5432/x');
  t.equal(load({ S3_ENDPOINT: 'http://minio:9000' }).config.s3.endpoint, 'http://minio:9000');
  refuses(t, { REDIS_URL: 'not a url' }, 'REDIS_URL');
  refuses(t, { REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL', 'wrong scheme');
  refuses(t, { DATABASE_URL: 'mysql://127.0.0.1/nexusguild' }, 'DATABASE_URL');
  refuses(t, { DATABASE_URL: '127.0.0.1:5432/nexusguild' }, 'DATABASE_URL');
  refuses(t, { S3_ENDPOINT: 'ftp://minio:9000' }, 'S3_ENDPOINT');
  refuses(t, { S3_ENDPOINT: 'minio' }, 'S3_ENDPOINT');
});

t.test('LIVEKIT_* are all set or none', async (t) => {
  const all = { LIVEKIT_API_KEY: 'key', LIVEKIT_API_SECRET: 'secret', LIVEKIT_URL: 'wss://lk.example.com' };
  t.same(load(all).config.livekit, { apiKey: 'key', apiSecret: 'secret', url: 'wss://lk.example.com' });
  for (const missing of Object.keys(all)) {
    const partial = { ...all, [missing]: '' };
    refuses(t, partial, 'LIVEKIT', `without ${missing}`);
    refuses(t, partial, missing, `without ${missing}`);
  }
  refuses(t, { LIVEKIT_URL: 'wss://lk.example.com' }, 'LIVEKIT_API_KEY');
});

t.test('CORS_ORIGINS', async (t) => {
  t.same(load({ CORS_ORIGINS: 'https://app.example.com' }).config.corsOrigins, ['https://app.example.com']);
  t.same(
    load({ CORS_ORIGINS: ' https://app.example.com , http://localhost:5173,,' }).config.corsOrigins,
    ['https://app.example.com', 'http://localhost:5173'],
    'comma separated, trimmed, empties dropped',
  );
  t.same(load({ CORS_ORIGINS: '' }).config.corsOrigins, []);
  for (const bad of ['https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'not a url', 'null', 'https://App.Example.com']) {
    refuses(t, { CORS_ORIGINS: `https://ok.example.com,${bad}` }, 'CORS_ORIGINS', `refuses ${bad}`);
  }
});

t.test('REDIS_PREFIX', async (t) => {
  t.equal(load({ REDIS_PREFIX: 'prod-eu:1.' }).config.redisPrefix, 'prod-eu:1.');
  for (const bad of ['has space', 'a*b', 'x'.repeat(65), '{tag}']) refuses(t, { REDIS_PREFIX: bad }, 'REDIS_PREFIX');
});

t.test('REDIS_ADAPTER', async (t) => {
  t.equal(load({}).config.redisAdapter, 'classic');
  t.equal(load({ REDIS_ADAPTER: 'sharded' }).config.redisAdapter, 'sharded');
  for (const bad of ['Sharded', 'cluster', ' ']) refuses(t, { REDIS_ADAPTER: bad }, 'REDIS_ADAPTER');
});

t.test('a process given a bad value exits 78 with a one-line reason', async (t) => {
  const script = `import { loadConfigOrExit } from ${JSON.stringify(fileURLToPath(new URL('./config.ts', import.meta.url)))}; loadConfigOrExit(); console.log('started');`;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, PORT: 'eighty', SESSION_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  t.equal(code, 78);
  t.equal(stdout, '', 'never started');
  t.equal(stderr.trim(), 'Configuration error: PORT must be a whole number, got "eighty"');
});
