// `npm run migrate`: create the database if needed and apply pending migrations.
import { loadConfigOrExit } from '../config.ts';
import { prepareDatabase } from './index.ts';

const config = loadConfigOrExit();
const applied = await prepareDatabase(config.databaseUrl);
console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
