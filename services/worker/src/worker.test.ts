import t from 'tap';
import { QueueEvents } from 'bullmq';
import { bullConnection, QUEUE } from '@nexusguild/shared/jobs';
import { registry } from '@nexusguild/shared/metrics';
import { setup } from '../../../test/harness.ts';
import { startWorker } from './app.ts';

const env = await setup(t);
const { resources } = env;

t.test('the worker connects, runs a queued job, and closes cleanly', async (t) => {
  const events = new QueueEvents(QUEUE, { connection: bullConnection(resources.config.redisUrl), prefix: resources.keys.bullPrefix });
  t.teardown(() => events.close());
  await events.waitUntilReady();
  const worker = startWorker(resources);
  await worker.worker.waitUntilReady();

  await resources.storage.put('test/a.txt', Buffer.from('a'), 'text/plain');
  t.ok(await resources.storage.get('test/a.txt'), 'the object exists before the job');
  const done = new Promise<string>((resolve) => events.once('completed', ({ jobId }) => resolve(jobId)));
  await resources.jobs.enqueue('delete-objects', { keys: ['test/a.txt'] });
  await done;
  t.equal(await resources.storage.get('test/a.txt'), null, 'the job deleted it');
  t.match(await registry.getSingleMetricAsString('worker_job_duration_seconds'), /_count\{name="delete-objects",outcome="completed"\} 1$/m, 'its duration was recorded');

  await worker.close();
  t.ok(worker.worker.closing, 'closed');
});

t.test('a job with no handler fails loudly instead of being dropped', async (t) => {
  const events = new QueueEvents(QUEUE, { connection: bullConnection(resources.config.redisUrl), prefix: resources.keys.bullPrefix });
  t.teardown(() => events.close());
  await events.waitUntilReady();
  const worker = startWorker(resources);
  t.teardown(() => worker.close());
  const failed = new Promise<string>((resolve) => events.once('failed', ({ failedReason }) => resolve(failedReason)));
  await resources.jobs.enqueue('no-such-job' as 'delete-objects', { keys: [] }, { attempts: 1 });
  t.match(await failed, /no handler/);
  // The stray name is not a label value: unknown names share one series.
  t.match(await registry.getSingleMetricAsString('worker_jobs_failed_total'), /^worker_jobs_failed_total\{name="unknown"\} 1$/m, 'the failure was counted');
});
