// Owns SQL for what the worker learns about stored attachments: which of a message's attachments
// are still unprocessed, and recording a result (once: a row already processed is left alone).
import type { Db } from '../db/index.ts';

export interface PendingAttachment {
  id: string;
  storage_key: string;
  content_type: string;
  size: number;
}

export interface AttachmentFacts {
  /** The sniffed type; null keeps the declared one. */
  contentType: string | null;
  width: number | null;
  height: number | null;
  thumbnailKey: string | null;
}

export function attachmentsRepo(sql: Db) {
  return {
    /** A message's attachments not processed yet (none when the message is gone). */
    async unprocessed(messageId: string): Promise<PendingAttachment[]> {
      return sql<PendingAttachment[]>`
        SELECT id, storage_key, content_type, size::float8 AS size FROM attachments
        WHERE message_id = ${messageId} AND processed_at IS NULL ORDER BY id`;
    },

    /** Records the facts in one UPDATE; false when the row is gone or was processed meanwhile. */
    async processed(id: string, facts: AttachmentFacts): Promise<boolean> {
      const rows = await sql`
        UPDATE attachments SET content_type = COALESCE(${facts.contentType}, content_type), width = ${facts.width},
          height = ${facts.height}, thumbnail_key = ${facts.thumbnailKey}, processed_at = now()
        WHERE id = ${id} AND processed_at IS NULL RETURNING 1`;
      return rows.length === 1;
    },
  };
}
