// `npm start`: the whole system in one process on PORT.
import { loadConfigOrExit } from '@nexusguild/shared/config';
import { onShutdown } from '@nexusguild/shared/shutdown';
import { startStandalone } from './index.ts';

const started = Date.now();
const system = await startStandalone(loadConfigOrExit());
console.log(`NexusGuild is up on ${system.url} (ready in ${Date.now() - started} ms)`);
onShutdown(system.app.log, () => system.close());
