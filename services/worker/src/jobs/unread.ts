// Owns the aggregate-unread job: recount a channel's unread and mention counts for its server's
// members after messages arrived. The send path only enqueues (coalesced per channel, see
// shared/jobs.ts); the counting is one set-based statement in the reads repo.
import type { JobPayloads } from '@nexusguild/shared/jobs';
import { readsRepo } from '@nexusguild/shared/repos/reads';
import type { WorkerDeps } from '../app.ts';

export async function aggregateUnread({ channelId }: JobPayloads['aggregate-unread'], { sql }: WorkerDeps): Promise<void> {
  await readsRepo(sql).aggregate(channelId);
}
