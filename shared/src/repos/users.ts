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
  };
}
