// `npm test`: prepares what every test file shares (a migrated template database and an S3
// server), runs tap over every *.test.ts, cleans up, and ends with one line "N passed, N failed".
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedS3 } from '@nexusguild/standalone';
import { createTemplate, dropDatabases, staleTestDatabases, withAdmin } from './db.ts';

const runId = `${Date.now().toString(36)}_${process.pid}`;
const template = `ngt_${runId}_tpl`;
const redisPrefix = `ngt:${runId}:`;

await dropDatabases(await staleTestDatabases(2 * 3600_000));
await createTemplate(template);
const s3Dir = await mkdtemp(join(tmpdir(), 'ngt-s3-'));
const s3 = await startEmbeddedS3(s3Dir);

const args = process.argv.slice(2);
const files = args; // none: every *.test.ts (.taprc)
const child = spawn('npx', ['tap', '--reporter=tap', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, TEST_RUN_ID: runId, TEST_TEMPLATE_DB: template, TEST_S3_ENDPOINT: s3.endpoint, TEST_REDIS_PREFIX: redisPrefix },
});
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));

// Clean up everything this run created, even after failures.
await s3.close();
await rm(s3Dir, { recursive: true, force: true });
const leftovers = await withAdmin((sql) => sql`SELECT datname FROM pg_database WHERE datname LIKE ${`ngt\\_${runId}\\_%`}`);
await dropDatabases(leftovers.map((r) => r.datname as string));
const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
  if (keys.length) await redis.del(...keys);
  cursor = next;
} while (cursor !== '0');
await redis.quit();

// tap's closing summary: "# { total: 12, pass: 11, fail: 1, skip: ... }"
const summary = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(tail);
const passed = Number(summary?.[2] ?? 0);
let failed = Number(summary?.[3] ?? 0);
if (code !== 0 && failed === 0) failed = 1; // tap failed outside any assertion (a crash or a timeout)
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
