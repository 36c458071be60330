// Owns Postgres access: the postgres.js client, database creation and migrations. SQL for the
// domain lives in repos/; this file only knows how to connect and how to bring a schema up.
import postgres from 'postgres';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
/** A pool or a transaction: repos take this so the same query runs inside or outside one. */
export type Db = postgres.ISql;

export interface SqlOptions {
  max?: number;
}

export function createSql(url: string, { max = 10 }: SqlOptions = {}): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    idle_timeout: 60,
    connect_timeout: 10,
    // Reconnect attempts back off exponentially but at most 2 s apart, so service resumes within
    // ~2 s of the database returning (postgres.js's default waits up to 20 s).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 2),
    // Keep int8 (ids, permission masks) as decimal strings: that is the wire format.
    transform: { undefined: null },
    // Every query is a prepared statement. Left to choose (`auto`), Postgres re-planned the history
    // page on every run: 2.08 ms a page against 0.99 ms with its generic plan. Our statements are
    // key lookups and index ranges, written so that the plan made without the parameters' values
    // is the right one. JIT is off: a generic plan's cost estimate can pass jit_above_cost, and
    // compiling then took 23 ms of a 0.07 ms page (bench/RESULTS.md).
    connection: { plan_cache_mode: 'force_generic_plan', jit: 'off' },
  });
}

/** Creates the database named in `url` when it does not exist yet (needs CREATEDB on the server). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`;
    if (row) return;
    await sql`CREATE DATABASE ${sql(name)}`.catch((err: { code?: string }) => {
      // Created meanwhile by another process: duplicate_database, or a unique violation on the catalog.
      if (err.code !== '42P04' && err.code !== '23505') throw err;
    });
  } finally {
    await sql.end();
  }
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const LOCK_KEY = 7_418_220_311; // any constant: serialises migrations across booting processes

/** Applies pending migrations in order, in one transaction under an advisory lock. Idempotent. */
export async function migrate(sql: Sql): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`;
    const done = new Set((await tx`SELECT name FROM schema_migrations`).map((r) => r.name as string));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.unsafe(await readFile(MIGRATIONS_DIR + file, 'utf8'));
      await tx`INSERT INTO schema_migrations (name) VALUES (${file})`;
      applied.push(file);
    }
    return applied;
  });
}

/** Creates the database if needed and applies pending migrations (safe from many processes at once); returns those it applied. */
export async function prepareDatabase(url: string): Promise<string[]> {
  await ensureDatabase(url);
  const sql = createSql(url, { max: 1 });
  try {
    return await migrate(sql);
  } finally {
    await sql.end();
  }
}
