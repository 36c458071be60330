// Owns enqueueing work after a commit: the data is already durable, so a queue outage is logged,
// never turned into an error reply (unread counts are recounted on the next message; an object
// whose removal is lost is only an orphan).
import type { FastifyBaseLogger } from 'fastify';
import type { JobName, JobPayloads, Jobs } from '@nexusguild/shared/jobs';

/** Keys per delete-objects job, so one job stays small whatever was deleted. */
const KEYS_PER_JOB = 1000;

export async function enqueueAfterCommit<N extends JobName>(jobs: Jobs, log: FastifyBaseLogger, name: N, data: JobPayloads[N]): Promise<void> {
  await jobs.enqueue(name, data).catch((err: Error) => log.warn({ err: err.message, job: name }, 'enqueue failed after commit'));
}

/** Enqueues `delete-objects` for stored objects whose rows were deleted, in jobs of at most 1000 keys. */
export async function removeObjects(jobs: Jobs, keys: readonly string[], log: FastifyBaseLogger): Promise<void> {
  for (let i = 0; i < keys.length; i += KEYS_PER_JOB) {
    await enqueueAfterCommit(jobs, log, 'delete-objects', { keys: keys.slice(i, i + KEYS_PER_JOB) });
  }
}
