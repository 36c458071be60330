// Entry point of a standalone worker process (`npm run start:worker`, one of K).
import { loadConfigOrExit } from '@nexusguild/shared/config';
import { openResources } from '@nexusguild/shared/runtime';
import { onShutdown } from '@nexusguild/shared/shutdown';
import { startWorker } from './app.ts';
import { startMetricsServer } from './metrics.ts';

const config = loadConfigOrExit();
const resources = await openResources(config);
const worker = startWorker(resources);
await worker.worker.waitUntilReady();
// Ready while the worker loop runs and Redis (where the jobs are) answers.
const ready = async () => worker.worker.isRunning() && (await resources.redis.ping()) === 'PONG';
const metrics = await startMetricsServer(config.metricsPort, config.host, ready);
resources.log.info({ metrics: `${config.host}:${config.metricsPort}` }, 'worker ready');
onShutdown(resources.log, async () => {
  await worker.close(); // stops taking jobs, waits for the active ones
  await new Promise<void>((resolve) => metrics.close(() => resolve()));
  await resources.close();
});
