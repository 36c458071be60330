// Owns SQL for reactions on messages: the per-emoji aggregate clients see, and adding or removing
// one user's reaction. Adds to one message serialize on the message row, so the per-message cap
// on distinct emoji holds under concurrency.
import type { Db } from '../db/index.ts';
import type { ReactionAggregate } from '../wire.ts';

export function reactionsRepo(sql: Db) {
  return {
    /** One entry per distinct emoji, ordered by its earliest reaction; users in the order they reacted. */
    async list(messageId: string): Promise<ReactionAggregate[]> {
      return sql<ReactionAggregate[]>`
        SELECT r.emoji, count(*)::text AS count,
          json_agg(json_build_object('userId', r.user_id::text, 'username', u.username) ORDER BY r.created_at, r.user_id) AS users
        FROM reactions r JOIN users u ON u.id = r.user_id
        WHERE r.message_id = ${messageId}
        GROUP BY r.emoji
        ORDER BY min(r.created_at), r.emoji`;
    },

    /**
     * Locks the message against other reaction adds (in a transaction) and says what is there:
     * null when the message is gone, else whether `emoji` is on it, whether `userId` already
     * reacted with it, and how many distinct emoji it carries.
     */
    async lockForAdd(messageId: string, emoji: string, userId: string): Promise<{ present: boolean; mine: boolean; distinct: number } | null> {
      // FOR NO KEY UPDATE does not block foreign-key checks (replies, reactions) on the row. The
      // state is read by a second statement: its snapshot is taken after the lock is granted, so
      // it sees what the add that held the lock before committed.
      const [locked] = await sql`SELECT 1 FROM messages WHERE id = ${messageId} FOR NO KEY UPDATE`;
      if (!locked) return null;
      const [row] = await sql<{ present: boolean; mine: boolean; distinct: number }[]>`
        SELECT
          EXISTS (SELECT 1 FROM reactions WHERE message_id = ${messageId} AND emoji = ${emoji}) AS present,
          EXISTS (SELECT 1 FROM reactions WHERE message_id = ${messageId} AND emoji = ${emoji} AND user_id = ${userId}) AS mine,
          (SELECT count(DISTINCT emoji)::int FROM reactions WHERE message_id = ${messageId}) AS distinct`;
      return row!;
    },

    async add(messageId: string, emoji: string, userId: string): Promise<void> {
      await sql`INSERT INTO reactions (message_id, emoji, user_id) VALUES (${messageId}, ${emoji}, ${userId}) ON CONFLICT DO NOTHING`;
    },

    async remove(messageId: string, emoji: string, userId: string): Promise<boolean> {
      const rows = await sql`DELETE FROM reactions WHERE message_id = ${messageId} AND emoji = ${emoji} AND user_id = ${userId} RETURNING 1`;
      return rows.length === 1;
    },
  };
}
