// The worker: one BullMQ worker on the shared queue, dispatching each job by name to its handler.
// Handlers are idempotent, so BullMQ's retries (with backoff) are always safe.
import { Worker, type Job } from 'bullmq';
import { QUEUE, bullConnection, type JobName, type JobPayloads } from '@nexusguild/shared/jobs';
import type { Resources } from '@nexusguild/shared/runtime';
import { reportOutages } from '@nexusguild/shared/redis';

export type WorkerDeps = Omit<Resources, 'close'>;
type Handlers = { [N in JobName]?: (data: JobPayloads[N], deps: WorkerDeps) => Promise<void> };

const handlers: Handlers = {
  'delete-objects': async ({ keys }, { storage }) => storage.remove(keys),
};

export interface JobWorker {
  worker: Worker;
  close(): Promise<void>;
}

export function startWorker(deps: WorkerDeps, { concurrency = 8 } = {}): JobWorker {
  const worker = new Worker(
    QUEUE,
    async (job: Job) => {
      const handler = handlers[job.name as JobName] as ((data: unknown, deps: WorkerDeps) => Promise<void>) | undefined;
      if (!handler) throw new Error(`no handler for job "${job.name}"`);
      await handler(job.data, deps);
    },
    { connection: bullConnection(deps.config.redisUrl), prefix: deps.keys.bullPrefix, concurrency },
  );
  reportOutages(worker, 'job worker'); // BullMQ retries connection trouble; the process stays up
  return {
    worker,
    // Finishes active jobs (BullMQ waits for them) and stops taking new ones.
    close: () => worker.close(),
  };
}
