// Owns SQL for roles and role assignments. The @everyone role has the server's id and position 0;
// it is implied by membership and never assigned.
import type { Db } from '../db/index.ts';

export interface RoleRow {
  id: string;
  server_id: string;
  name: string;
  color: string;
  /** A decimal string (int8). */
  permissions: string;
  position: number;
  hoist: boolean;
  mentionable: boolean;
  created_at: Date;
}

const COLUMNS = 'id, server_id, name, color, permissions::text AS permissions, position, hoist, mentionable, created_at';

export interface RoleChanges {
  name?: string;
  color?: string;
  permissions?: bigint;
  hoist?: boolean;
  mentionable?: boolean;
}

export function rolesRepo(sql: Db) {
  // A fresh fragment per query: postgres.js fragments are queries and are not meant to be shared.
  const columns = () => sql.unsafe(COLUMNS);
  return {
    /** A server's roles, highest first, @everyone last. */
    async list(serverId: string): Promise<RoleRow[]> {
      return sql<RoleRow[]>`
        SELECT ${columns()} FROM roles WHERE server_id = ${serverId} ORDER BY position DESC, created_at, id`;
    },

    /** How many roles a server has, @everyone included. */
    async count(serverId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM roles WHERE server_id = ${serverId}`;
      return row!.n;
    },

    /** A role of this server; null when unknown or another server's. */
    async byId(serverId: string, roleId: string): Promise<RoleRow | null> {
      const [row] = await sql<RoleRow[]>`SELECT ${columns()} FROM roles WHERE id = ${roleId} AND server_id = ${serverId}`;
      return row ?? null;
    },

    /**
     * Serializes role writes of one server (in a transaction) by locking its @everyone row, so two
     * creates never take the same position and a reorder sees a stable set.
     */
    async lock(serverId: string): Promise<void> {
      await sql`SELECT 1 FROM roles WHERE id = ${serverId} FOR UPDATE`;
    },

    /**
     * A new role at `position`, lifting the roles at and above it by one; without a position, just
     * above the highest non-@everyone role (at least 1). Returns it and the roles it lifted.
     */
    async create(
      role: { id: string; serverId: string; name: string; color: string; permissions: bigint; hoist: boolean; mentionable: boolean },
      position?: number,
    ): Promise<{ role: RoleRow; lifted: RoleRow[] }> {
      const lifted = position === undefined ? [] : await sql<RoleRow[]>`
        UPDATE roles SET position = position + 1
        WHERE server_id = ${role.serverId} AND id <> ${role.serverId} AND position >= ${position}
        RETURNING ${columns()}`;
      const [row] = await sql<RoleRow[]>`
        INSERT INTO roles (id, server_id, name, color, permissions, position, hoist, mentionable)
        VALUES (${role.id}, ${role.serverId}, ${role.name}, ${role.color}, ${role.permissions.toString()},
                ${position ?? sql`(SELECT COALESCE(MAX(position), 0) + 1 FROM roles WHERE server_id = ${role.serverId} AND id <> ${role.serverId})`},
                ${role.hoist}, ${role.mentionable})
        RETURNING ${columns()}`;
      return { role: row!, lifted };
    },

    async update(roleId: string, changes: RoleChanges): Promise<RoleRow | null> {
      const set = <T>(value: T | undefined) => value !== undefined;
      const [row] = await sql<RoleRow[]>`
        UPDATE roles SET
          name = CASE WHEN ${set(changes.name)} THEN ${changes.name ?? null} ELSE name END,
          color = CASE WHEN ${set(changes.color)} THEN ${changes.color ?? null} ELSE color END,
          permissions = CASE WHEN ${set(changes.permissions)} THEN ${changes.permissions?.toString() ?? null}::bigint ELSE permissions END,
          hoist = CASE WHEN ${set(changes.hoist)} THEN ${changes.hoist ?? null}::boolean ELSE hoist END,
          mentionable = CASE WHEN ${set(changes.mentionable)} THEN ${changes.mentionable ?? null}::boolean ELSE mentionable END
        WHERE id = ${roleId} RETURNING ${columns()}`;
      return row ?? null; // deleted meanwhile
    },

    /** Deletes a role; its assignments go with it (cascade), its channel overrides here. */
    async remove(roleId: string): Promise<void> {
      await sql`DELETE FROM permission_overrides WHERE target_id = ${roleId} AND target_type = 'role'`;
      await sql`DELETE FROM roles WHERE id = ${roleId}`;
    },

    /** Sets positions of roles of one server in one statement. */
    async setPositions(serverId: string, positions: { id: string; position: number }[]): Promise<void> {
      if (!positions.length) return;
      await sql`
        UPDATE roles SET position = v.position
        FROM unnest(${positions.map((p) => p.id)}::bigint[], ${positions.map((p) => p.position)}::int[]) AS v(id, position)
        WHERE roles.id = v.id AND roles.server_id = ${serverId}`;
    },

    /**
     * Locks a membership against removal for the rest of the transaction; false when the user is
     * not a member. Assignments reference the membership, so this keeps assign from racing a kick.
     */
    async lockMember(serverId: string, userId: string): Promise<boolean> {
      const rows = await sql`SELECT 1 FROM server_members WHERE server_id = ${serverId} AND user_id = ${userId} FOR KEY SHARE`;
      return rows.length === 1;
    },

    /** Assigns a role; false when the member already had it. */
    async assign(serverId: string, userId: string, roleId: string): Promise<boolean> {
      const rows = await sql`
        INSERT INTO member_roles (server_id, user_id, role_id) VALUES (${serverId}, ${userId}, ${roleId})
        ON CONFLICT DO NOTHING RETURNING 1`;
      return rows.length === 1;
    },

    /** Removes a role from a member; false when they did not have it. */
    async unassign(serverId: string, userId: string, roleId: string): Promise<boolean> {
      const rows = await sql`
        DELETE FROM member_roles WHERE server_id = ${serverId} AND user_id = ${userId} AND role_id = ${roleId} RETURNING 1`;
      return rows.length === 1;
    },

    /** A member's assigned role ids (without @everyone), highest first. */
    async memberRoleIds(serverId: string, userId: string): Promise<string[]> {
      const rows = await sql<{ id: string }[]>`
        SELECT r.id FROM member_roles mr JOIN roles r ON r.id = mr.role_id
        WHERE mr.server_id = ${serverId} AND mr.user_id = ${userId}
        ORDER BY r.position DESC, r.id`;
      return rows.map((r) => r.id);
    },
  };
}
