// Entry point of a standalone worker process (`npm run start:worker`, one of K).
import { loadConfigOrExit } from '@nexusguild/shared/config';
import { openResources } from '@nexusguild/shared/runtime';
import { onShutdown } from '@nexusguild/shared/shutdown';
import { startWorker } from './app.ts';

const config = loadConfigOrExit();
const resources = await openResources(config);
const worker = startWorker(resources);
await worker.worker.waitUntilReady();
console.log('worker ready');
onShutdown(console, async () => {
  await worker.close();
  await resources.close();
});
