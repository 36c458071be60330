// The request id follows a request: the API answers with it, logs it, and stamps it on the events
// the request publishes and the jobs it enqueues; the worker logs it again when it runs the job.
import { PassThrough } from 'node:stream';
import t from 'tap';
import { buildApp } from '@nexusguild/api';
import { createLogger, withRequestId } from '@nexusguild/shared/log';
import { createPublisher } from '@nexusguild/shared/publisher';
import { startWorker } from '@nexusguild/worker';
import { createGuild } from './guild.ts';
import { setup } from './harness.ts';

const env = await setup(t);
const TRACE = '0b8e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

/** A debug logger whose JSON lines land in `lines`; `next` resolves with the first line matching. */
function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const text of chunk.toString().split('\n').filter(Boolean)) {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) w.resolve(line);
    }
  });
  const next = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 3000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = lines.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error('no such log line')), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  return { log: createLogger('debug', stream), next };
}

t.test('an API request: the reply, the request log and the event log carry its id', async (t) => {
  const { log, next } = capture();
  const { redis, keys, config } = env.resources;
  const app = await buildApp({ ...env.resources, log, publisher: createPublisher(redis, keys, config.redisAdapter, log) });
  t.teardown(() => app.close());
  const guild = await createGuild(env);

  const res = await app.inject({
    method: 'PATCH', url: `/api/servers/${guild.server.id}`,
    headers: { cookie: guild.owner.cookie, 'x-request-id': TRACE }, payload: { name: 'Traced' },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-request-id'], TRACE, 'the client gets the id back');
  t.match(await next((l) => l.msg === 'request completed'), { requestId: TRACE });
  t.match(await next((l) => l.msg === 'event published'), { requestId: TRACE, event: 'server_updated', rooms: [`server:${guild.server.id}`] });

  const other = await app.inject({ method: 'GET', url: '/api/health' });
  t.match(other.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a request without one gets a fresh UUID (unique across API processes)');
  t.not(other.headers['x-request-id'], TRACE);
  const forged = await app.inject({ method: 'GET', url: '/api/health', headers: { 'x-request-id': 'admin did it' } });
  t.match(forged.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an id that is not a UUID is replaced');
});

t.test('a job: enqueued within a request, it carries the id to the worker', async (t) => {
  const { log, next } = capture();
  const worker = startWorker({ ...env.resources, log });
  t.teardown(() => worker.close());
  await withRequestId('trace-456', () => env.resources.jobs.enqueue('delete-objects', { keys: [] }));
  t.match(await next((l) => l.msg === 'job completed'), { requestId: 'trace-456', job: 'delete-objects' });
});
