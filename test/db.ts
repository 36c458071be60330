// Test databases: one migrated template per test run, and a fresh clone of it for each test file.
import postgres from 'postgres';
import { migrate, createSql } from '@nexusguild/shared/db/index';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

export async function createTemplate(name: string): Promise<void> {
  await withAdmin((sql) => sql`CREATE DATABASE ${sql(name)}`);
  const sql = createSql(databaseUrl(name), { max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.end();
  }
}

export async function cloneTemplate(template: string, name: string): Promise<void> {
  await withAdmin((sql) => sql`CREATE DATABASE ${sql(name)} TEMPLATE ${sql(template)}`);
}

export async function dropDatabases(names: string[]): Promise<void> {
  if (!names.length) return;
  await withAdmin(async (sql) => {
    for (const name of names) await sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`;
  });
}

/** Databases of earlier runs that died before cleaning up (their names start with the run's time). */
export async function staleTestDatabases(olderThanMs: number): Promise<string[]> {
  const rows = await withAdmin((sql) => sql`SELECT datname FROM pg_database WHERE datname LIKE 'ngt\_%'`);
  return rows
    .map((r) => r.datname as string)
    .filter((name) => {
      const started = parseInt(name.split('_')[1] ?? '', 36);
      return Number.isFinite(started) && Date.now() - started > olderThanMs;
    });
}
