// Owns the one typed configuration object. Every service reads its settings from here, validated
// once at boot: a bad value stops the process with a message that names the variable.

export interface Config {
  nodeEnv: string;
  port: number;
  host: string;
  /** Trust X-Forwarded-* from a proxy in front (HAProxy, ingress). */
  trustProxy: boolean;
  databaseUrl: string;
  redisUrl: string;
  /** Prefix for every Redis key and pub/sub channel we own, so runs and deployments never collide. */
  redisPrefix: string;
  /** How gateways share events: Redis pub/sub (`classic`) or Redis 7 sharded pub/sub (`sharded`). */
  redisAdapter: (typeof REDIS_ADAPTERS)[number];
  sessionSecret: string;
  cookieSecure: boolean;
  corsOrigins: string[];
  s3: { endpoint: string | null; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** Folder for the embedded S3 server used when S3_ENDPOINT is unset. */
  dataDir: string;
  livekit: { apiKey: string; apiSecret: string; url: string } | null;
  /**
   * Gateway liveness for presence and voice state: each gateway refreshes its heartbeat every
   * `heartbeatMs`, the heartbeat expires after `ttlMs`, and every gateway reaps expired ones each
   * `heartbeatMs`. A killed gateway's users go offline within ttlMs + heartbeatMs.
   */
  presence: { heartbeatMs: number; ttlMs: number };
  rateLimitEnabled: boolean;
  maxUploadBytes: number;
  /** Fixed snowflake worker id (0–1023); null means claim one from Redis at boot. */
  workerId: number | null;
  logLevel: string;
  /** Port of the worker's /metrics, /healthz and /readyz server (the API and gateway use `port`). */
  metricsPort: number;
}

export class ConfigError extends Error {}

const REDIS_ADAPTERS = ['classic', 'sharded'] as const;

const DEV_SESSION_SECRET = 'dev-only-session-secret-change-me-0123456789';

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, values: readonly T[]): T {
  const v = str(env, name, fallback);
  if (!values.includes(v as T)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${v}"`);
  return v as T;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const v = str(env, name, fallback);
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${v}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return v;
}

export function loadConfig(env: Env = process.env, warn: (msg: string) => void = console.warn): Config {
  const nodeEnv = str(env, 'NODE_ENV', 'development');
  const production = nodeEnv === 'production';

  let sessionSecret = env.SESSION_SECRET ?? '';
  if (!sessionSecret) {
    if (production) throw new ConfigError('SESSION_SECRET is required when NODE_ENV=production');
    warn('SESSION_SECRET is not set: using an insecure development secret');
    sessionSecret = DEV_SESSION_SECRET;
  } else if (sessionSecret.length < 32) {
    throw new ConfigError('SESSION_SECRET must be at least 32 characters');
  }

  const corsOrigins = str(env, 'CORS_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    let bare: string | null = null;
    try {
      bare = new URL(origin).origin;
    } catch {
      // not a URL at all: reported below with the variable's name, like every other bad value
    }
    if (origin !== bare) throw new ConfigError(`CORS_ORIGINS entry "${origin}" is not a bare origin`);
  }

  const livekitKey = str(env, 'LIVEKIT_API_KEY', '');
  const livekitSecret = str(env, 'LIVEKIT_API_SECRET', '');
  const livekitUrl = str(env, 'LIVEKIT_URL', '');
  const livekitSet = [livekitKey, livekitSecret, livekitUrl].filter(Boolean).length;
  if (livekitSet !== 0 && livekitSet !== 3) {
    throw new ConfigError('LIVEKIT_API_KEY, LIVEKIT_API_SECRET and LIVEKIT_URL must be set together');
  }

  const redisPrefix = str(env, 'REDIS_PREFIX', 'ng:');
  if (!/^[A-Za-z0-9_:.-]{1,64}$/.test(redisPrefix)) throw new ConfigError('REDIS_PREFIX may hold only [A-Za-z0-9_:.-]');

  const heartbeatMs = int(env, 'PRESENCE_HEARTBEAT_MS', 5000, 20, 60_000);
  const ttlMs = int(env, 'PRESENCE_TTL_MS', 15_000, 50, 300_000);
  if (ttlMs < 2 * heartbeatMs) throw new ConfigError('PRESENCE_TTL_MS must be at least twice PRESENCE_HEARTBEAT_MS');

  const workerIdRaw = env.WORKER_ID;
  return {
    nodeEnv,
    port: int(env, 'PORT', 3000, 0, 65535),
    host: str(env, 'HOST', '0.0.0.0'),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/nexusguild', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisPrefix,
    redisAdapter: oneOf(env, 'REDIS_ADAPTER', 'classic', REDIS_ADAPTERS),
    sessionSecret,
    cookieSecure: bool(env, 'COOKIE_SECURE', production),
    corsOrigins,
    s3: {
      endpoint: env.S3_ENDPOINT ? url(env, 'S3_ENDPOINT', '', ['http:', 'https:']) : null,
      bucket: str(env, 'S3_BUCKET', 'nexusguild'),
      region: str(env, 'S3_REGION', 'us-east-1'),
      accessKeyId: str(env, 'S3_ACCESS_KEY_ID', 'S3RVER'),
      secretAccessKey: str(env, 'S3_SECRET_ACCESS_KEY', 'S3RVER'),
    },
    dataDir: str(env, 'DATA_DIR', '.data'),
    livekit: livekitSet === 3 ? { apiKey: livekitKey, apiSecret: livekitSecret, url: livekitUrl } : null,
    presence: { heartbeatMs, ttlMs },
    rateLimitEnabled: bool(env, 'RATE_LIMIT_ENABLED', true),
    maxUploadBytes: int(env, 'MAX_UPLOAD_BYTES', 25 * 1024 * 1024, 1, 5 * 1024 * 1024 * 1024),
    workerId: workerIdRaw ? int(env, 'WORKER_ID', 0, 0, 1023) : null,
    logLevel: str(env, 'LOG_LEVEL', production ? 'info' : 'warn'),
    metricsPort: int(env, 'METRICS_PORT', 9464, 0, 65535),
  };
}

/** loadConfig for a process entry point: a bad value ends the process with a one-line reason. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
