// `npm run migrate`: create the database if needed and apply pending migrations.
import { loadConfigOrExit } from '../config.ts';
import { createSql, ensureDatabase, migrate } from './index.ts';

const config = loadConfigOrExit();
await ensureDatabase(config.databaseUrl);
const sql = createSql(config.databaseUrl, { max: 1 });
const applied = await migrate(sql);
console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
await sql.end();
