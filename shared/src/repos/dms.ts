// Owns SQL for conversations: 1:1 DMs and group DMs, which are channels without a server (type dm
// or group_dm) whose participants are their channel_members rows. A pair has one DM at most: its
// `dm_key` ("<smaller id>:<larger id>") is unique, so opening races end in one row. Their messages
// live in the one messages table (repos/messages.ts).
import type { Db } from '../db/index.ts';

/** Most participants of a group DM, its owner included (decisions, Model). */
export const MAX_GROUP_MEMBERS = 10;

/** A conversation with its participants, as every access check and event needs it. */
export interface Conversation {
  id: string;
  type: 'dm' | 'group_dm';
  /** Participant user ids. */
  participants: string[];
}

/** A conversation as the list shows it, with its newest message and its members. */
export interface ConversationRow {
  id: string;
  type: 'dm' | 'group_dm';
  name: string | null;
  icon: string | null;
  owner_id: string | null;
  dm_key: string | null;
  created_at: Date;
  last_message: string | null;
  last_message_at: Date | null;
  /** Null only when no participant is left. */
  members: { id: string; username: string; avatar: string | null }[] | null;
}

/** The pair's key: both ids, the smaller (as a number) first. */
export function dmKey(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? `${a}:${b}` : `${b}:${a}`;
}

export function dmsRepo(sql: Db) {
  return {
    /** A DM or group DM and its participants; null when `id` is no conversation (unknown, or a server channel). */
    async conversation(id: string): Promise<Conversation | null> {
      const [row] = await sql<Conversation[]>`
        SELECT c.id, c.type, ARRAY(SELECT cm.user_id::text FROM channel_members cm WHERE cm.channel_id = c.id ORDER BY cm.user_id) AS participants
        FROM channels c WHERE c.id = ${id} AND c.type IN ('dm', 'group_dm')`;
      return row ?? null;
    },

    /**
     * The conversations `userId` takes part in (or only `onlyId` of them), most recent activity
     * first: by the newest message, or the creation for one without messages (ids are snowflakes,
     * so both order by time). One statement: the newest message per conversation comes from the
     * (channel_id, id) index, the members from one aggregate each.
     */
    async list(userId: string, onlyId?: string): Promise<ConversationRow[]> {
      return sql<ConversationRow[]>`
        SELECT c.id, c.type, c.name, c.icon, c.owner_id, c.dm_key, c.created_at,
          lm.content AS last_message, lm.created_at AS last_message_at,
          (SELECT json_agg(json_build_object('id', u.id::text, 'username', u.username, 'avatar', u.avatar) ORDER BY cm.joined_at, u.id)
             FROM channel_members cm JOIN users u ON u.id = cm.user_id
             WHERE cm.channel_id = c.id) AS members
        FROM channel_members me
        JOIN channels c ON c.id = me.channel_id AND c.type IN ('dm', 'group_dm')
        LEFT JOIN LATERAL (
          SELECT m.id, m.content, m.created_at FROM messages m WHERE m.channel_id = c.id ORDER BY m.id DESC LIMIT 1
        ) lm ON true
        WHERE me.user_id = ${userId} ${onlyId ? sql`AND c.id = ${onlyId}` : sql``}
        ORDER BY COALESCE(lm.id, c.id) DESC`;
    },

    /**
     * Which of `userIds` exist, each locked against deletion (FOR KEY SHARE) until the caller's
     * transaction ends, so the memberships written next cannot lose their user.
     */
    async lockUsers(userIds: readonly string[]): Promise<Set<string>> {
      const rows = await sql<{ id: string }[]>`
        SELECT id FROM users WHERE id = ANY(${userIds as string[]}::bigint[]) ORDER BY id FOR KEY SHARE`;
      return new Set(rows.map((r) => r.id));
    },

    /**
     * The pair's DM, made with id `id` when there is none. Two concurrent opens of the same pair
     * meet on the unique dm_key: the second waits for the first's commit, inserts nothing and
     * reads its row. Run in a transaction.
     */
    async openPair(id: string, a: string, b: string): Promise<{ id: string; created: boolean }> {
      const key = dmKey(a, b);
      const [made] = await sql<{ id: string }[]>`
        INSERT INTO channels (id, type, dm_key) VALUES (${id}, 'dm', ${key})
        ON CONFLICT (dm_key) DO NOTHING RETURNING id`;
      if (made) {
        await sql`INSERT INTO channel_members (channel_id, user_id) VALUES (${id}, ${a}), (${id}, ${b})`;
        return { id, created: true };
      }
      const [existing] = await sql<{ id: string }[]>`SELECT id FROM channels WHERE dm_key = ${key}`;
      return { id: existing!.id, created: false };
    },

    /** A new group DM owned by `ownerId` with `memberIds` (the owner among them). Run in a transaction. */
    async createGroup(group: { id: string; ownerId: string; name: string | null; memberIds: readonly string[] }): Promise<void> {
      await sql`INSERT INTO channels (id, type, name, owner_id) VALUES (${group.id}, 'group_dm', ${group.name}, ${group.ownerId})`;
      await sql`INSERT INTO channel_members ${sql(group.memberIds.map((userId) => ({ channel_id: group.id, user_id: userId })))}`;
    },
  };
}
