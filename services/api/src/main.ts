// Entry point of a standalone API process (`npm run start:api`, one of N behind the proxy).
import { loadConfigOrExit } from '@nexusguild/shared/config';
import { openResources } from '@nexusguild/shared/runtime';
import { onShutdown } from '@nexusguild/shared/shutdown';
import { startApi } from './index.ts';

const config = loadConfigOrExit();
const resources = await openResources(config);
const app = await startApi(resources, config);
onShutdown(app.log, async () => {
  await app.close(); // stops accepting, lets in-flight requests finish
  await resources.close();
});
