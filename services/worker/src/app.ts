// The worker: one BullMQ worker on the shared queue, dispatching each job by name to its handler.
// Handlers are idempotent, so BullMQ's retries (with backoff) are always safe.
import { Worker, type Job } from 'bullmq';
import { QUEUE, bullConnection, type JobData, type JobName, type JobPayloads } from '@nexusguild/shared/jobs';
import { withRequestId } from '@nexusguild/shared/log';
import type { Resources } from '@nexusguild/shared/runtime';
import { reportOutages } from '@nexusguild/shared/redis';
import { processAttachments } from './jobs/attachments.ts';
import { aggregateUnread } from './jobs/unread.ts';
import { measureJob } from './metrics.ts';

export type WorkerDeps = Omit<Resources, 'close'>;
type Handlers = { [N in JobName]?: (data: JobPayloads[N], deps: WorkerDeps) => Promise<void> };

const handlers: Handlers = {
  'delete-objects': async ({ keys }, { storage }) => storage.remove(keys),
  'aggregate-unread': aggregateUnread,
  'process-attachments': processAttachments,
};

export interface JobWorker {
  worker: Worker;
  close(): Promise<void>;
}

export function startWorker(deps: WorkerDeps, { concurrency = 8 } = {}): JobWorker {
  const worker = new Worker(
    QUEUE,
    // The job runs as part of the request that enqueued it: its logs and events carry that id.
    (job: Job<JobData<JobName>>) => withRequestId(job.data.requestId, async () => {
      const handler = handlers[job.name as JobName] as ((data: unknown, deps: WorkerDeps) => Promise<void>) | undefined;
      // Unknown names share one label value: a stray producer must not grow the series.
      if (!handler) return measureJob('unknown', () => Promise.reject(new Error(`no handler for job "${job.name}"`)));
      await measureJob(job.name, () => handler(job.data, deps));
    }),
    { connection: bullConnection(deps.config.redisUrl), prefix: deps.keys.bullPrefix, concurrency },
  );
  reportOutages(worker, 'job worker'); // BullMQ retries connection trouble; the process stays up
  const about = (job: Job<JobData<JobName>> | undefined) => ({ requestId: job?.data.requestId, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade });
  worker.on('completed', (job) => deps.log.debug(about(job), 'job completed'));
  worker.on('failed', (job, err) => deps.log.warn({ ...about(job), err: err.message }, 'job failed'));
  return {
    worker,
    // Stops taking jobs and waits for the active ones to finish. A job still running when the
    // process's shutdown timeout ends it keeps its lock until the lock expires; BullMQ then
    // counts it stalled and another worker runs it again (jobs are idempotent).
    close: () => worker.close(),
  };
}
