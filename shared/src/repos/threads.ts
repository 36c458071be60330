// Owns SQL for threads: channels hanging off a message (or, for forum posts, off a forum channel)
// with their message counts, and the membership of private threads. Who may see a thread is the
// access repo's (its overrides are its parent's; a private one adds channel_members).
import type { Db } from '../db/index.ts';
import type { ChannelRow } from './access.ts';

/** A thread with the number of messages in it. */
export interface ThreadRow extends ChannelRow {
  message_count: number;
}

export interface NewThread {
  id: string;
  serverId: string;
  type: 'thread' | 'private_thread';
  name: string;
  /** The channel it lives in: a text/announcement channel, or a forum for a post. */
  parentId: string;
  /** The message it was started from; null for a forum post. */
  parentMessageId: string | null;
  ownerId: string;
}

export function threadsRepo(sql: Db) {
  const columns = () => sql`c.id, c.server_id, c.type, c.name, c.topic, c.position, c.parent_id, c.parent_message_id, c.owner_id, c.created_at`;

  return {
    /** The thread started from a message, or null. */
    async byMessage(messageId: string): Promise<ThreadRow | null> {
      const [row] = await sql<ThreadRow[]>`
        SELECT ${columns()}, (SELECT count(*)::int FROM messages m WHERE m.channel_id = c.id) AS message_count
        FROM channels c WHERE c.parent_message_id = ${messageId}`;
      return row ?? null;
    },

    /**
     * Creates a thread; null when the message already has one (a concurrent creation won; the
     * unique index decides). Lock the parent channel first so a channel delete cannot orphan it.
     */
    async create(t: NewThread): Promise<ChannelRow | null> {
      const [row] = await sql<ChannelRow[]>`
        INSERT INTO channels AS c (id, server_id, type, name, parent_id, parent_message_id, owner_id, position)
        VALUES (${t.id}, ${t.serverId}, ${t.type}, ${t.name}, ${t.parentId}, ${t.parentMessageId}, ${t.ownerId}, 0)
        ON CONFLICT (parent_message_id) WHERE parent_message_id IS NOT NULL DO NOTHING
        RETURNING ${columns()}`;
      return row ?? null;
    },

    /** A forum's posts (its threads) with their message counts, most recently active first. */
    async posts(forumId: string): Promise<ThreadRow[]> {
      return sql<ThreadRow[]>`
        SELECT ${columns()}, s.message_count
        FROM channels c
        CROSS JOIN LATERAL (SELECT count(*)::int AS message_count, max(m.id) AS last_id FROM messages m WHERE m.channel_id = c.id) s
        WHERE c.parent_id = ${forumId} AND c.type = 'thread'
        ORDER BY COALESCE(s.last_id, c.id) DESC
        LIMIT 500`;
    },

    /** Adds a member; false when they already were one. */
    async addMember(channelId: string, userId: string): Promise<boolean> {
      const rows = await sql`INSERT INTO channel_members (channel_id, user_id) VALUES (${channelId}, ${userId}) ON CONFLICT DO NOTHING RETURNING 1`;
      return rows.length === 1;
    },

    /** Removes a member; false when they were not one. */
    async removeMember(channelId: string, userId: string): Promise<boolean> {
      const rows = await sql`DELETE FROM channel_members WHERE channel_id = ${channelId} AND user_id = ${userId} RETURNING 1`;
      return rows.length === 1;
    },

    /** Locks a message's row for the transaction (a thread is being started from it); false when gone. */
    async lockMessage(messageId: string): Promise<boolean> {
      const [row] = await sql`SELECT 1 FROM messages WHERE id = ${messageId} FOR SHARE`;
      return row !== undefined;
    },
  };
}
