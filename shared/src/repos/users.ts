// Owns SQL for users. Rows come back with ids as decimal strings.
import type { Sql } from '../db/index.ts';

export interface UserRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  avatar: string | null;
  custom_status: string | null;
  created_at: Date;
}

export function usersRepo(sql: Sql) {
  return {
    /** Inserts a user; null when the email or username (case-insensitive) is taken. */
    async create(user: { id: string; username: string; email: string; passwordHash: string }): Promise<UserRow | null> {
      const [row] = await sql<UserRow[]>`
        INSERT INTO users (id, username, email, password_hash)
        VALUES (${user.id}, ${user.username}, ${user.email}, ${user.passwordHash})
        ON CONFLICT DO NOTHING
        RETURNING *`;
      return row ?? null;
    },
    async byEmail(email: string): Promise<UserRow | null> {
      const [row] = await sql<UserRow[]>`SELECT * FROM users WHERE email = ${email}`;
      return row ?? null;
    },
    async byId(id: string): Promise<UserRow | null> {
      const [row] = await sql<UserRow[]>`SELECT * FROM users WHERE id = ${id}`;
      return row ?? null;
    },
    /** Sets the custom status; the updated row, or null when the user is gone. */
    async setCustomStatus(id: string, customStatus: string | null): Promise<UserRow | null> {
      const [row] = await sql<UserRow[]>`UPDATE users SET custom_status = ${customStatus} WHERE id = ${id} RETURNING *`;
      return row ?? null;
    },
    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await sql`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${id}`;
    },
    async setAvatar(id: string, avatar: string | null): Promise<UserRow | null> {
      const [row] = await sql<UserRow[]>`UPDATE users SET avatar = ${avatar} WHERE id = ${id} RETURNING *`;
      return row ?? null;
    },
    /** The name a user shows in a server: the nickname there, else the username. */
    async displayName(id: string, serverId: string): Promise<string | null> {
      const [row] = await sql<{ name: string }[]>`
        SELECT COALESCE(m.nickname, u.username) AS name FROM users u
        LEFT JOIN server_members m ON m.user_id = u.id AND m.server_id = ${serverId}
        WHERE u.id = ${id}`;
      return row?.name ?? null;
    },
    /** A DM or group DM and whether the user takes part: null when there is no such conversation. */
    async dmParticipation(dmId: string, userId: string): Promise<{ participant: boolean } | null> {
      const [row] = await sql<{ participant: boolean }[]>`
        SELECT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = c.id AND cm.user_id = ${userId}) AS participant
        FROM channels c WHERE c.id = ${dmId} AND c.type IN ('dm', 'group_dm')`;
      return row ?? null;
    },
  };
}
