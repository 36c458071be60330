// Owns SQL for server channels (categories and threads included), their permission overrides and
// the per-user counts the channel list shows. Multi-statement changes run inside the caller's
// transaction (pass a `Tx` as `sql`). Reads for authorization live in access.ts.
import type { Db } from '../db/index.ts';
import type { ChannelRow } from './access.ts';
import { joinedCursor } from './reads.ts';

export interface OverrideRow {
  channel_id: string;
  target_id: string;
  target_type: 'role' | 'member';
  /** Decimal strings (int8). */
  allow: string;
  deny: string;
}

export interface ReadCounts {
  unread_count: number;
  mention_count: number;
}

/** Where a channel sits: its position among its siblings and its category (null: none). */
export interface Placement {
  id: string;
  position: number;
  parent_id: string | null;
}

export function channelsRepo(sql: Db) {
  // Fresh fragments per query (as in roles.ts): a postgres.js fragment is a query object.
  const columns = () => sql`id, server_id, type, name, topic, position, parent_id, parent_message_id, owner_id, created_at`;
  const notThread = () => sql`type NOT IN ('thread', 'private_thread')`;

  /**
   * Locks a channel and its threads for deletion; returns their ids. Locked first: a thread
   * created meanwhile (its creation locks the parent too) cannot slip between the two deletes
   * and lose its parent, and a message being sent into any of them (it locks its channel too)
   * commits before the deleting transaction reads what to remove.
   */
  async function lockWithThreads(id: string): Promise<string[]> {
    const rows = await sql<{ id: string }[]>`
      SELECT id FROM channels WHERE id = ${id} OR (parent_id = ${id} AND type IN ('thread', 'private_thread')) ORDER BY id FOR UPDATE`;
    return rows.map((r) => r.id);
  }

  return {
    async byId(id: string): Promise<ChannelRow | null> {
      const [row] = await sql<ChannelRow[]>`SELECT ${columns()} FROM channels WHERE id = ${id} AND server_id IS NOT NULL`;
      return row ?? null;
    },

    /** A server's channels without threads, locked for a reorder (in a transaction). */
    async lockServerChannels(serverId: string): Promise<ChannelRow[]> {
      return sql<ChannelRow[]>`
        SELECT ${columns()} FROM channels WHERE server_id = ${serverId} AND ${notThread()} ORDER BY position, id FOR UPDATE`;
    },

    /** How many channels (categories included, threads not) a server has. */
    async count(serverId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM channels WHERE server_id = ${serverId} AND ${notThread()}`;
      return row!.n;
    },

    /** The position after the last sibling under `parentId` (null: top level); 0 when there is none. */
    async nextPosition(serverId: string, parentId: string | null): Promise<number> {
      const [row] = await sql<{ next: number }[]>`
        SELECT COALESCE(MAX(position) + 1, 0)::int AS next FROM channels
        WHERE server_id = ${serverId} AND parent_id IS NOT DISTINCT FROM ${parentId} AND ${notThread()}`;
      return row!.next;
    },

    async create(channel: { id: string; serverId: string; type: string; name: string; topic: string | null; position: number; parentId: string | null }): Promise<ChannelRow> {
      const [row] = await sql<ChannelRow[]>`
        INSERT INTO channels (id, server_id, type, name, topic, position, parent_id)
        VALUES (${channel.id}, ${channel.serverId}, ${channel.type}, ${channel.name}, ${channel.topic}, ${channel.position}, ${channel.parentId})
        RETURNING ${columns()}`;
      return row!;
    },

    /** Gives channel `to` the overrides `from` has (a category's, for a channel created in it). */
    async copyOverrides(from: string, to: string): Promise<void> {
      await sql`
        INSERT INTO permission_overrides (channel_id, target_id, target_type, allow, deny)
        SELECT ${to}, target_id, target_type, allow, deny FROM permission_overrides WHERE channel_id = ${from}`;
    },

    /** Changes the fields that are present; `topic`/`parent_id` null clears them. */
    async update(id: string, changes: { name?: string; topic?: string | null; position?: number; parent_id?: string | null }): Promise<ChannelRow | null> {
      const set = (field: keyof typeof changes) => changes[field] !== undefined;
      const [row] = await sql<ChannelRow[]>`
        UPDATE channels SET
          name = CASE WHEN ${set('name')} THEN ${changes.name ?? null} ELSE name END,
          topic = CASE WHEN ${set('topic')} THEN ${changes.topic ?? null} ELSE topic END,
          position = CASE WHEN ${set('position')} THEN ${changes.position ?? 0}::int ELSE position END,
          parent_id = CASE WHEN ${set('parent_id')} THEN ${changes.parent_id ?? null}::bigint ELSE parent_id END
        WHERE id = ${id} RETURNING ${columns()}`;
      return row ?? null; // deleted meanwhile
    },

    /** Applies new placements; returns the rows as they are now. */
    async place(placements: Placement[]): Promise<ChannelRow[]> {
      const rows: ChannelRow[] = [];
      for (const p of placements) {
        const [row] = await sql<ChannelRow[]>`
          UPDATE channels SET position = ${p.position}, parent_id = ${p.parent_id} WHERE id = ${p.id} RETURNING ${columns()}`;
        if (row) rows.push(row);
      }
      return rows;
    },

    lockWithThreads,

    /**
     * Deletes a channel and the threads under it (parent_id only SETs NULL on delete, and forum
     * posts hang off no message, so nothing else would remove them). Returns the deleted ids,
     * threads first. A category's children become uncategorised through that same SET NULL.
     */
    async remove(id: string): Promise<string[]> {
      await lockWithThreads(id);
      const threads = await sql<{ id: string }[]>`
        DELETE FROM channels WHERE parent_id = ${id} AND type IN ('thread', 'private_thread') RETURNING id`;
      const removed = await sql<{ id: string }[]>`DELETE FROM channels WHERE id = ${id} RETURNING id`;
      return [...threads, ...removed].map((r) => r.id);
    },

    /**
     * The caller's unread and mention counts (kept by the worker, reads.ts) for these channels;
     * channels without a row are absent, and so are rows counted before the caller last joined
     * the channel's server (their cursor is below the join: nothing since then is unread yet).
     */
    async readCounts(userId: string, channelIds: string[]): Promise<Map<string, ReadCounts>> {
      if (!channelIds.length) return new Map();
      const rows = await sql<(ReadCounts & { channel_id: string })[]>`
        SELECT rs.channel_id, rs.unread_count, rs.mention_count FROM read_states rs
        JOIN channels c ON c.id = rs.channel_id
        JOIN server_members sm ON sm.server_id = c.server_id AND sm.user_id = rs.user_id
        WHERE rs.user_id = ${userId} AND rs.channel_id = ANY(${channelIds}::bigint[]) AND rs.last_read_id >= ${joinedCursor(sql)}`;
      return new Map(rows.map((r) => [r.channel_id, { unread_count: r.unread_count, mention_count: r.mention_count }]));
    },

    async overrides(channelId: string): Promise<OverrideRow[]> {
      return sql<OverrideRow[]>`
        SELECT channel_id, target_id, target_type, allow::text AS allow, deny::text AS deny
        FROM permission_overrides WHERE channel_id = ${channelId} ORDER BY target_type DESC, target_id`;
    },

    async override(channelId: string, targetId: string): Promise<OverrideRow | null> {
      const [row] = await sql<OverrideRow[]>`
        SELECT channel_id, target_id, target_type, allow::text AS allow, deny::text AS deny
        FROM permission_overrides WHERE channel_id = ${channelId} AND target_id = ${targetId}`;
      return row ?? null;
    },

    async putOverride(o: { channelId: string; targetId: string; targetType: 'role' | 'member'; allow: bigint; deny: bigint }): Promise<OverrideRow> {
      const [row] = await sql<OverrideRow[]>`
        INSERT INTO permission_overrides (channel_id, target_id, target_type, allow, deny)
        VALUES (${o.channelId}, ${o.targetId}, ${o.targetType}, ${o.allow.toString()}, ${o.deny.toString()})
        ON CONFLICT (channel_id, target_id) DO UPDATE
          SET target_type = EXCLUDED.target_type, allow = EXCLUDED.allow, deny = EXCLUDED.deny
        RETURNING channel_id, target_id, target_type, allow::text AS allow, deny::text AS deny`;
      return row!;
    },

    async deleteOverride(channelId: string, targetId: string): Promise<boolean> {
      const rows = await sql`DELETE FROM permission_overrides WHERE channel_id = ${channelId} AND target_id = ${targetId} RETURNING 1`;
      return rows.length === 1;
    },
  };
}
