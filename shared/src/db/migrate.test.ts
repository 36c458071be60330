import t from 'tap';
import { createSql, ensureDatabase, migrate } from './index.ts';
import { databaseUrl, dropDatabases, withAdmin } from '../../../test/db.ts';

const name = `ngt_${process.env.TEST_RUN_ID ?? Date.now().toString(36)}_migrate`;
const url = databaseUrl(name);
t.teardown(() => dropDatabases([name]));

t.test('ensureDatabase creates a missing database, and is a no-op the second time', async (t) => {
  await Promise.all([ensureDatabase(url), ensureDatabase(url)]);
  await ensureDatabase(url);
  const rows = await withAdmin((sql) => sql`SELECT 1 FROM pg_database WHERE datname = ${name}`);
  t.equal(rows.length, 1);
});

t.test('concurrent migrations apply each file exactly once', async (t) => {
  const a = createSql(url, { max: 1 });
  const b = createSql(url, { max: 1 });
  t.teardown(() => Promise.all([a.end(), b.end()]));
  const [first, second] = await Promise.all([migrate(a), migrate(b)]);
  const applied = [...first, ...second].sort();
  t.same(applied, ['0001_init.sql'], 'one of the two applied the schema, the other found it done');
  t.same(await migrate(a), [], 'a third run has nothing to do');
  const tables = await a`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
  t.same(tables.map((r) => r.tablename), [
    'attachments', 'bans', 'channel_members', 'channels', 'custom_emojis', 'invites', 'member_roles', 'messages',
    'permission_overrides', 'reactions', 'read_states', 'roles', 'schema_migrations', 'server_members', 'servers', 'users',
  ]);
});

t.test('the hot paths have their indexes', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end());
  const indexes = (await sql`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`).map((r) => r.indexname);
  for (const index of ['messages_channel_id_idx', 'server_members_user_idx', 'users_email_key', 'users_username_key']) {
    t.ok(indexes.includes(index), index);
  }
  // History by channel is one index range scan, newest first.
  const plan = await sql`EXPLAIN SELECT * FROM messages WHERE channel_id = 1 AND id < 99 ORDER BY id DESC LIMIT 50`;
  t.match(plan.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan Backward using messages_channel_id_idx/);
});

t.test('ids are numbers in Postgres and decimal strings in JS', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end());
  await sql`INSERT INTO users (id, username, email, password_hash) VALUES (${'2358273784982540288'}, 'a', 'a@x', 'h')`;
  const [row] = await sql`SELECT id FROM users WHERE id > ${'999'}`;
  t.equal(row.id, '2358273784982540288');
  const dup = await sql`INSERT INTO users (id, username, email, password_hash) VALUES (2, 'A', 'b@x', 'h') ON CONFLICT DO NOTHING RETURNING id`;
  t.equal(dup.length, 0, 'usernames are unique case-insensitively');
});
