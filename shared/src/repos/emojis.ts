// Owns SQL for a server's custom emoji. Creation serializes per server (an advisory lock), so the
// per-server cap holds under concurrent uploads.
import type { Db } from '../db/index.ts';

export interface EmojiRow {
  id: string;
  server_id: string;
  name: string;
  storage_key: string;
  content_type: string;
  created_by: string | null;
  created_at: Date;
}

export function emojisRepo(sql: Db) {
  const columns = () => sql`id, server_id, name, storage_key, content_type, created_by, created_at`;
  return {
    async list(serverId: string): Promise<EmojiRow[]> {
      return sql<EmojiRow[]>`SELECT ${columns()} FROM custom_emojis WHERE server_id = ${serverId} ORDER BY id`;
    },

    async byId(serverId: string, id: string): Promise<EmojiRow | null> {
      const [row] = await sql<EmojiRow[]>`SELECT ${columns()} FROM custom_emojis WHERE server_id = ${serverId} AND id = ${id}`;
      return row ?? null;
    },

    /** Whether `custom:<serverId>:<name>` names an existing emoji. */
    async exists(serverId: string, name: string): Promise<boolean> {
      const [row] = await sql`SELECT 1 FROM custom_emojis WHERE server_id = ${serverId} AND name = ${name}`;
      return Boolean(row);
    },

    /** Serializes emoji creation in one server until the transaction ends (call first, in a transaction). */
    async lockServer(serverId: string): Promise<void> {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`custom_emojis:${serverId}`}, 0))`;
    },

    async count(serverId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM custom_emojis WHERE server_id = ${serverId}`;
      return row!.n;
    },

    /** Null when the name is taken in this server. */
    async create(e: { id: string; serverId: string; name: string; storageKey: string; contentType: string; createdBy: string }): Promise<EmojiRow | null> {
      const [row] = await sql<EmojiRow[]>`
        INSERT INTO custom_emojis (id, server_id, name, storage_key, content_type, created_by)
        VALUES (${e.id}, ${e.serverId}, ${e.name}, ${e.storageKey}, ${e.contentType}, ${e.createdBy})
        ON CONFLICT (server_id, name) DO NOTHING
        RETURNING ${columns()}`;
      return row ?? null;
    },

    /** The deleted row (its object is then removed by a job), or null. */
    async remove(serverId: string, id: string): Promise<EmojiRow | null> {
      const [row] = await sql<EmojiRow[]>`DELETE FROM custom_emojis WHERE server_id = ${serverId} AND id = ${id} RETURNING ${columns()}`;
      return row ?? null;
    },
  };
}
