// Owns the reads authorization needs: who a user is in a server (owner, @everyone, roles) and the
// permission overrides that apply to a channel. The API's guards and the gateway's room joins
// both load through here, so a REST check and a socket check can never disagree.
import type { PendingQuery, Row } from 'postgres';
import type { Db } from '../db/index.ts';
import type { MemberContext, Override, RoleGrant } from '../permissions.ts';

export interface ServerRef {
  id: string;
  owner_id: string;
}

export interface ChannelRow {
  id: string;
  server_id: string;
  type: string;
  name: string;
  topic: string | null;
  position: number;
  parent_id: string | null;
  parent_message_id: string | null;
  owner_id: string | null;
  created_at: Date;
}

/** A server channel with the overrides that govern it (a thread's are its parent's). */
export interface GuardedChannel extends ChannelRow {
  overrides: Override[];
}

/** Threads (public or private) take their parent channel's overrides. */
export const isThread = (channel: { type: string }) => channel.type === 'thread' || channel.type === 'private_thread';

interface ContextRow {
  id: string;
  owner_id: string;
  everyone: string;
  user_id: string;
  roles: { id: string; permissions: string; position: number }[];
}

interface OverrideJson {
  target_id: string;
  target_type: 'role' | 'member';
  allow: string;
  deny: string;
}

const toOverride = (o: OverrideJson): Override => ({ targetId: o.target_id, targetType: o.target_type, allow: BigInt(o.allow), deny: BigInt(o.deny) });
const toRole = (r: ContextRow['roles'][number]): RoleGrant => ({ id: r.id, permissions: BigInt(r.permissions), position: r.position });

function toContext(row: ContextRow): MemberContext {
  return { userId: row.user_id, ownerId: row.owner_id, everyone: BigInt(row.everyone), roles: row.roles.map(toRole) };
}

export function accessRepo(sql: Db) {
  /**
   * Server `serverId` (a value or a column) with, for each of `userIds` who is a member (every
   * member when omitted), their context: the server's row once per member found, or once with a
   * NULL member (LEFT JOIN) when none is; no row at all means no such server.
   */
  const contexts = (serverId: PendingQuery<Row[]>, userIds?: readonly string[]) => sql`
    SELECT s.id, s.owner_id, e.permissions::text AS everyone, m.user_id,
      COALESCE((
        SELECT json_agg(json_build_object('id', r.id::text, 'permissions', r.permissions::text, 'position', r.position))
        FROM member_roles mr JOIN roles r ON r.id = mr.role_id
        WHERE mr.server_id = s.id AND mr.user_id = m.user_id
      ), '[]') AS roles
    FROM servers s
    JOIN roles e ON e.id = s.id
    LEFT JOIN server_members m ON m.server_id = s.id
      ${userIds ? sql`AND m.user_id = ANY(${userIds as string[]}::bigint[])` : sql``}
    WHERE s.id = ${serverId}`;

  /**
   * The server and, for each of `userIds` who is a member (every member when omitted), their
   * context, in one round trip. Null: no such server.
   */
  async function members(serverId: string, userIds?: readonly string[]): Promise<{ server: ServerRef; members: Map<string, MemberContext> } | null> {
    const rows = await sql<(Omit<ContextRow, 'user_id'> & { user_id: string | null })[]>`${contexts(sql`${serverId}`, userIds)}`;
    const [first] = rows;
    if (!first) return null;
    const server: ServerRef = { id: first.id, owner_id: first.owner_id };
    const found = rows.filter((r): r is ContextRow => r.user_id !== null);
    return { server, members: new Map(found.map((r) => [r.user_id, toContext(r)])) };
  }

  /** Channel columns plus the overrides that apply (the parent's, for a thread). */
  const guardedChannels = (where: PendingQuery<Row[]>) => sql<(ChannelRow & { overrides: OverrideJson[] })[]>`
    SELECT c.id, c.server_id, c.type, c.name, c.topic, c.position, c.parent_id, c.parent_message_id, c.owner_id, c.created_at,
      COALESCE((
        SELECT json_agg(json_build_object('target_id', o.target_id::text, 'target_type', o.target_type,
                                          'allow', o.allow::text, 'deny', o.deny::text))
        FROM permission_overrides o
        WHERE o.channel_id = CASE WHEN c.type IN ('thread', 'private_thread') THEN c.parent_id ELSE c.id END
      ), '[]') AS overrides
    FROM channels c
    WHERE c.server_id IS NOT NULL AND ${where}
    ORDER BY c.position, c.id`;

  const guard = (row: ChannelRow & { overrides: OverrideJson[] }): GuardedChannel => ({ ...row, overrides: row.overrides.map(toOverride) });

  return {
    members,

    /** One user in one server: null when the server does not exist; member null for a non-member. */
    async member(serverId: string, userId: string): Promise<{ server: ServerRef; member: MemberContext | null } | null> {
      const found = await members(serverId, [userId]);
      return found && { server: found.server, member: found.members.get(userId) ?? null };
    },

    /** The @everyone role's permissions (its id is the server's); null when the server is gone. */
    async everyone(serverId: string): Promise<bigint | null> {
      const [row] = await sql<{ permissions: string }[]>`SELECT permissions::text AS permissions FROM roles WHERE id = ${serverId}`;
      return row ? BigInt(row.permissions) : null;
    },

    /** A server channel with its overrides, or null (no such channel, or a DM). */
    async channel(channelId: string): Promise<GuardedChannel | null> {
      const [row] = await guardedChannels(sql`c.id = ${channelId}`);
      return row ? guard(row) : null;
    },

    /**
     * A server channel with its overrides, and `userId` in its server (member null for a
     * non-member), in one round trip; null: no such channel (or a DM).
     */
    async channelFor(channelId: string, userId: string): Promise<{ channel: GuardedChannel; server: ServerRef; member: MemberContext | null } | null> {
      type Found = ChannelRow & { overrides: OverrideJson[]; server_owner_id: string; everyone: string; user_id: string | null; roles: ContextRow['roles'] };
      const [row] = await sql<Found[]>`
        SELECT ch.*, mc.owner_id AS server_owner_id, mc.everyone, mc.user_id, mc.roles
        FROM (${guardedChannels(sql`c.id = ${channelId}`)}) ch
        CROSS JOIN LATERAL (${contexts(sql`ch.server_id`, [userId])}) mc`;
      if (!row) return null;
      const { server_owner_id, everyone, user_id, roles, ...channel } = row;
      const server = { id: channel.server_id, owner_id: server_owner_id };
      return { channel: guard(channel), server, member: user_id === null ? null : toContext({ ...server, everyone, user_id, roles }) };
    },

    /** Whether a user is a participant of a channel (a private thread's members, a DM's). */
    async isChannelMember(channelId: string, userId: string): Promise<boolean> {
      const [row] = await sql`SELECT 1 FROM channel_members WHERE channel_id = ${channelId} AND user_id = ${userId}`;
      return row !== undefined;
    },

    /** A channel's participants (a private thread's members, a DM's). */
    async channelMemberIds(channelId: string): Promise<Set<string>> {
      const rows = await sql<{ user_id: string }[]>`SELECT user_id FROM channel_members WHERE channel_id = ${channelId}`;
      return new Set(rows.map((r) => r.user_id));
    },

    /** Every channel of a server (threads too when asked), ordered for display. */
    async channels(serverId: string, { threads = false } = {}): Promise<GuardedChannel[]> {
      const rows = await guardedChannels(
        threads ? sql`c.server_id = ${serverId}` : sql`c.server_id = ${serverId} AND c.type NOT IN ('thread', 'private_thread')`,
      );
      return rows.map(guard);
    },
  };
}
