// Owns read cursors and the unread/mention counts kept next to them (read_states). The worker
// recomputes a channel's counts for all its server's members in one statement after messages
// arrive; mark-read moves one user's cursor and recomputes theirs in one statement. Both compute
// relative to the cursor they read inside their statement, so neither can undo the other.
import type { Db } from '../db/index.ts';
import { EPOCH } from '../ids.ts';

/**
 * At most this many unread messages are counted per user and channel (newest first, mentions
 * among them): the cost of one aggregation stays members × CAP however long a member stays away.
 * Clients show large counts as "999+" anyway.
 */
export const UNREAD_CAP = 1000;

export function readsRepo(sql: Db) {
  /** The snowflake of when a member joined: their cursor in a channel they never marked read. */
  const joinedCursor = () => sql`((floor(extract(epoch FROM sm.joined_at) * 1000)::bigint - ${EPOCH.toString()}::bigint) << 22)`;

  /**
   * The unread and mention counts of one member (`m.user_id`, `m.cursor`) in channel `channelId`:
   * others' messages after the cursor (the newest UNREAD_CAP), and those of them that mention the
   * member. The send path resolved mentions when it stored the message: `mention_everyone`
   * (@everyone/@here by an author allowed to) and `mentions` (<@id> and @username as a whole word).
   */
  const countsFor = (channelId: string) => sql`
    LEFT JOIN LATERAL (
      SELECT count(*)::int AS unread,
        count(*) FILTER (WHERE x.mention_everyone OR m.user_id = ANY(x.mentions))::int AS mentions
      FROM (
        SELECT msg.mention_everyone, msg.mentions FROM messages msg
        WHERE msg.channel_id = ${channelId} AND msg.id > m.cursor AND msg.author_id IS DISTINCT FROM m.user_id
        ORDER BY msg.id DESC LIMIT ${UNREAD_CAP}
      ) x
    ) c ON true`;

  return {
    /**
     * Recounts every member of the channel's server (a no-op for a channel that is gone or a DM).
     * A row is updated only while its cursor is still the one counted from: a mark-read that
     * commits meanwhile wins (this statement re-checks the row and skips it). Members without a
     * row get one only when they have something unread (no row reads as 0).
     */
    async aggregate(channelId: string): Promise<void> {
      await sql`
        WITH m AS (
          SELECT sm.user_id, rs.last_read_id AS seen,
            GREATEST(COALESCE(rs.last_read_id, 0), ${joinedCursor()}) AS cursor
          FROM channels ch
          JOIN server_members sm ON sm.server_id = ch.server_id
          LEFT JOIN read_states rs ON rs.user_id = sm.user_id AND rs.channel_id = ch.id
          WHERE ch.id = ${channelId}
        ),
        counted AS (
          SELECT m.user_id, m.seen, m.cursor, c.unread, c.mentions FROM m ${countsFor(channelId)}
        ),
        updated AS (
          UPDATE read_states rs SET unread_count = counted.unread, mention_count = counted.mentions
          FROM counted
          WHERE rs.user_id = counted.user_id AND rs.channel_id = ${channelId} AND rs.last_read_id = counted.seen
            AND (rs.unread_count, rs.mention_count) IS DISTINCT FROM (counted.unread, counted.mentions)
        )
        INSERT INTO read_states (user_id, channel_id, last_read_id, unread_count, mention_count)
        SELECT user_id, ${channelId}, cursor, unread, mentions FROM counted WHERE seen IS NULL AND unread > 0
        ON CONFLICT (user_id, channel_id) DO NOTHING`;
    },

    /**
     * Moves the user's cursor to `messageId`, or to the channel's newest message, or (an empty
     * channel) to `fresh`, and counts what is left after it, in one statement. Returns the new
     * cursor; null when `messageId` is not a message of this channel.
     */
    async markRead(userId: string, channelId: string, messageId: string | null, fresh: string): Promise<string | null> {
      const [row] = await sql<{ last_read_id: string }[]>`
        WITH m AS (
          SELECT u.id AS user_id,
            COALESCE(${messageId}::bigint, (SELECT max(id) FROM messages WHERE channel_id = ${channelId}), ${fresh}::bigint) AS cursor
          FROM users u
          WHERE u.id = ${userId}
            AND (${messageId}::bigint IS NULL OR EXISTS (SELECT 1 FROM messages WHERE id = ${messageId}::bigint AND channel_id = ${channelId}))
        )
        INSERT INTO read_states (user_id, channel_id, last_read_id, unread_count, mention_count)
        SELECT m.user_id, ${channelId}, m.cursor, c.unread, c.mentions FROM m ${countsFor(channelId)}
        ON CONFLICT (user_id, channel_id) DO UPDATE
          SET last_read_id = EXCLUDED.last_read_id, unread_count = EXCLUDED.unread_count, mention_count = EXCLUDED.mention_count
        RETURNING last_read_id`;
      return row?.last_read_id ?? null;
    },
  };
}
