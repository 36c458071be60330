// Owns SQL for servers and who belongs to them: the server row, memberships, invites and bans.
// Multi-statement changes run inside the caller's transaction (pass a `Tx` as `sql`).
import { randomInt } from 'node:crypto';
import type { Db } from '../db/index.ts';
import { DEFAULT_EVERYONE_PERMISSIONS } from '../permissions.ts';

export interface ServerRow {
  id: string;
  name: string;
  icon: string | null;
  owner_id: string;
  created_at: Date;
  joined_at?: Date;
}

export interface MemberRow {
  id: string;
  username: string;
  avatar: string | null;
  custom_status: string | null;
  nickname: string | null;
  joined_at: Date;
  roles: string[];
  role_color: string | null;
  hoist_role_name: string | null;
  hoist_role_position: number | null;
}

export interface InviteRow {
  code: string;
  server_id: string;
  inviter_id: string | null;
  inviter_username: string | null;
  uses: number;
  max_uses: number;
  expires_at: Date | null;
  created_at: Date;
}

export interface BanRow {
  server_id: string;
  user_id: string;
  username: string;
  avatar: string | null;
  banned_by: string | null;
  reason: string | null;
  created_at: Date;
}

/** Invite codes: 8 characters from an alphabet without look-alikes, stored upper-case. */
const INVITE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const newInviteCode = () => Array.from({ length: 8 }, () => INVITE_ALPHABET[randomInt(INVITE_ALPHABET.length)]).join('');

const ACTIVE_INVITE = 'i.expires_at IS NULL OR i.expires_at > now()) AND (i.max_uses = 0 OR i.uses < i.max_uses';

export function serversRepo(sql: Db) {
  return {
    /**
     * A new server as the decisions define it: the owner as member, @everyone (id = server id),
     * categories "Text Channels" / "Voice Channels" with general, announcements and General.
     */
    async create(server: { id: string; name: string; icon: string | null; ownerId: string }, nextId: () => string): Promise<ServerRow> {
      const [row] = await sql<ServerRow[]>`
        INSERT INTO servers (id, name, icon, owner_id) VALUES (${server.id}, ${server.name}, ${server.icon}, ${server.ownerId})
        RETURNING *`;
      const [member] = await sql<{ joined_at: Date }[]>`
        INSERT INTO server_members (server_id, user_id) VALUES (${server.id}, ${server.ownerId}) RETURNING joined_at`;
      await sql`
        INSERT INTO roles (id, server_id, name, permissions, position)
        VALUES (${server.id}, ${server.id}, '@everyone', ${DEFAULT_EVERYONE_PERMISSIONS.toString()}, 0)`;
      const [text, voice] = [nextId(), nextId()];
      const channels = [
        { id: text, type: 'category', name: 'Text Channels', position: 0, parent_id: null },
        { id: voice, type: 'category', name: 'Voice Channels', position: 1, parent_id: null },
        { id: nextId(), type: 'text', name: 'general', position: 0, parent_id: text },
        { id: nextId(), type: 'announcement', name: 'announcements', position: 1, parent_id: text },
        { id: nextId(), type: 'voice', name: 'General', position: 0, parent_id: voice },
      ].map((c) => ({ ...c, server_id: server.id }));
      await sql`INSERT INTO channels ${sql(channels)}`;
      return { ...row!, joined_at: member!.joined_at };
    },

    async byId(id: string): Promise<ServerRow | null> {
      const [row] = await sql<ServerRow[]>`SELECT * FROM servers WHERE id = ${id}`;
      return row ?? null;
    },

    /** The servers a user belongs to, in the order they joined. */
    async listFor(userId: string): Promise<ServerRow[]> {
      return sql<ServerRow[]>`
        SELECT s.*, m.joined_at FROM server_members m JOIN servers s ON s.id = m.server_id
        WHERE m.user_id = ${userId} ORDER BY m.joined_at, s.id`;
    },

    /** The ids of the servers a user is a member of (where their presence and status are announced). */
    async idsFor(userId: string): Promise<string[]> {
      const rows = await sql<{ server_id: string }[]>`SELECT server_id FROM server_members WHERE user_id = ${userId}`;
      return rows.map((r) => r.server_id);
    },

    async update(id: string, changes: { name?: string; icon?: string | null }): Promise<ServerRow | null> {
      const [row] = await sql<ServerRow[]>`
        UPDATE servers SET
          name = CASE WHEN ${changes.name !== undefined} THEN ${changes.name ?? null} ELSE name END,
          icon = CASE WHEN ${changes.icon !== undefined} THEN ${changes.icon ?? null} ELSE icon END
        WHERE id = ${id} RETURNING *`;
      return row ?? null; // deleted meanwhile
    },

    async remove(id: string): Promise<void> {
      await sql`DELETE FROM servers WHERE id = ${id}`;
    },

    /** Every channel id of a server (threads too): the rooms a departing member must leave; locked when deleting. */
    async channelIds(serverId: string, { lock = false } = {}): Promise<string[]> {
      const rows = await sql<{ id: string }[]>`
        SELECT id FROM channels WHERE server_id = ${serverId} ${lock ? sql`ORDER BY id FOR UPDATE` : sql``}`;
      return rows.map((r) => r.id);
    },

    /** Members with their roles (highest first) and the colours and hoist their roles give them. */
    async members(serverId: string, limit: number): Promise<MemberRow[]> {
      return sql<MemberRow[]>`
        SELECT u.id, u.username, u.avatar, u.custom_status, m.nickname, m.joined_at,
          COALESCE(array_agg(r.id::text ORDER BY r.position DESC) FILTER (WHERE r.id IS NOT NULL), '{}') AS roles,
          (array_agg(r.color ORDER BY r.position DESC) FILTER (WHERE r.id IS NOT NULL))[1] AS role_color,
          (array_agg(r.name ORDER BY r.position DESC) FILTER (WHERE r.hoist))[1] AS hoist_role_name,
          (array_agg(r.position ORDER BY r.position DESC) FILTER (WHERE r.hoist))[1] AS hoist_role_position
        FROM server_members m
        JOIN users u ON u.id = m.user_id
        LEFT JOIN member_roles mr ON mr.server_id = m.server_id AND mr.user_id = m.user_id
        LEFT JOIN roles r ON r.id = mr.role_id
        WHERE m.server_id = ${serverId}
        GROUP BY u.id, m.nickname, m.joined_at
        ORDER BY lower(u.username), u.id
        LIMIT ${limit}`;
    },

    /** Sets (null clears) a member's nickname; false when they are not a member. */
    async setNickname(serverId: string, userId: string, nickname: string | null): Promise<boolean> {
      const rows = await sql`UPDATE server_members SET nickname = ${nickname} WHERE server_id = ${serverId} AND user_id = ${userId} RETURNING 1`;
      return rows.length === 1;
    },

    /** Adds a member; false when they already were one. */
    async addMember(serverId: string, userId: string): Promise<boolean> {
      const rows = await sql`
        INSERT INTO server_members (server_id, user_id) VALUES (${serverId}, ${userId}) ON CONFLICT DO NOTHING RETURNING 1`;
      return rows.length === 1;
    },

    /** Removes a member (their role assignments go with them); false when they were not one. */
    async removeMember(serverId: string, userId: string): Promise<boolean> {
      const rows = await sql`DELETE FROM server_members WHERE server_id = ${serverId} AND user_id = ${userId} RETURNING 1`;
      return rows.length === 1;
    },

    async createInvite(invite: { serverId: string; inviterId: string; maxUses: number; expiresIn: number | null }): Promise<InviteRow> {
      for (;;) {
        const [row] = await sql<InviteRow[]>`
          INSERT INTO invites (code, server_id, inviter_id, max_uses, expires_at)
          VALUES (${newInviteCode()}, ${invite.serverId}, ${invite.inviterId}, ${invite.maxUses},
                  ${invite.expiresIn ? sql`now() + make_interval(secs => ${invite.expiresIn})` : null})
          ON CONFLICT (code) DO NOTHING
          RETURNING *, (SELECT username FROM users WHERE id = ${invite.inviterId}) AS inviter_username`;
        if (row) return row; // else the code was taken (1 in 2^40 per invite): draw another
      }
    },

    /** Invites that can still be used, newest first. */
    async activeInvites(serverId: string): Promise<InviteRow[]> {
      return sql<InviteRow[]>`
        SELECT i.*, u.username AS inviter_username FROM invites i LEFT JOIN users u ON u.id = i.inviter_id
        WHERE i.server_id = ${serverId} AND (${sql.unsafe(ACTIVE_INVITE)})
        ORDER BY i.created_at DESC, i.code`;
    },

    async invite(serverId: string, code: string): Promise<InviteRow | null> {
      const [row] = await sql<InviteRow[]>`
        SELECT i.*, NULL AS inviter_username FROM invites i WHERE i.server_id = ${serverId} AND i.code = ${code.toUpperCase()}`;
      return row ?? null;
    },

    async deleteInvite(code: string): Promise<void> {
      await sql`DELETE FROM invites WHERE code = ${code.toUpperCase()}`;
    },

    /** Locks a usable invite for redemption (in a transaction); null when unknown, expired or used up. */
    async lockActiveInvite(code: string): Promise<InviteRow | null> {
      const [row] = await sql<InviteRow[]>`
        SELECT i.*, NULL AS inviter_username FROM invites i
        WHERE i.code = ${code.toUpperCase()} AND (${sql.unsafe(ACTIVE_INVITE)})
        FOR UPDATE`;
      return row ?? null;
    },

    async useInvite(code: string): Promise<void> {
      await sql`UPDATE invites SET uses = uses + 1 WHERE code = ${code}`;
    },

    /** Bans a user (a repeated ban updates the reason). */
    async ban(ban: { serverId: string; userId: string; bannedBy: string; reason: string | null }): Promise<void> {
      await sql`
        INSERT INTO bans (server_id, user_id, banned_by, reason)
        VALUES (${ban.serverId}, ${ban.userId}, ${ban.bannedBy}, ${ban.reason})
        ON CONFLICT (server_id, user_id) DO UPDATE SET reason = EXCLUDED.reason, banned_by = EXCLUDED.banned_by`;
    },

    async unban(serverId: string, userId: string): Promise<void> {
      await sql`DELETE FROM bans WHERE server_id = ${serverId} AND user_id = ${userId}`;
    },

    async bans(serverId: string): Promise<BanRow[]> {
      return sql<BanRow[]>`
        SELECT b.*, u.username, u.avatar FROM bans b JOIN users u ON u.id = b.user_id
        WHERE b.server_id = ${serverId} ORDER BY b.created_at DESC, b.user_id`;
    },

    /**
     * Serializes changes to one user's standing in one server (joining vs being banned) until the
     * transaction ends: without it, a join that checked for a ban just before the ban committed
     * would still add the member.
     */
    async lockStanding(serverId: string, userId: string): Promise<void> {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`standing:${serverId}:${userId}`}, 0))`;
    },

    async isBanned(serverId: string, userId: string): Promise<boolean> {
      const rows = await sql`SELECT 1 FROM bans WHERE server_id = ${serverId} AND user_id = ${userId}`;
      return rows.length === 1;
    },

    /** One ban with the banned user's name and avatar (what the ban route returns). */
    async banOf(serverId: string, userId: string): Promise<BanRow | null> {
      const [row] = await sql<BanRow[]>`
        SELECT b.*, u.username, u.avatar FROM bans b JOIN users u ON u.id = b.user_id
        WHERE b.server_id = ${serverId} AND b.user_id = ${userId}`;
      return row ?? null;
    },
  };
}
