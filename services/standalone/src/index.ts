// The all-in-one composition root: the only code that imports all three services. `npm start`
// runs migrations, then the API, the gateway and the worker in one process on one port.
import type { Config } from '@nexusguild/shared/config';
import { prepareDatabase } from '@nexusguild/shared/db/index';
import { openResources, type Resources } from '@nexusguild/shared/runtime';
import { buildApp, type App } from '@nexusguild/api';
import { createGateway, type Gateway } from '@nexusguild/gateway';
import { startWorker, type JobWorker } from '@nexusguild/worker';
import { startEmbeddedS3, type EmbeddedS3 } from './embedded-s3.ts';

export { startEmbeddedS3 } from './embedded-s3.ts';

export interface Standalone {
  app: App;
  gateway: Gateway;
  worker: JobWorker;
  resources: Resources;
  url: string;
  close(): Promise<void>;
}

export async function startStandalone(config: Config): Promise<Standalone> {
  let s3: EmbeddedS3 | null = null;
  if (!config.s3.endpoint) {
    s3 = await startEmbeddedS3(`${config.dataDir}/s3`);
    config = { ...config, s3: { ...config.s3, endpoint: s3.endpoint } };
  }
  await prepareDatabase(config.databaseUrl);
  const resources = await openResources(config);
  await resources.storage.ensureBucket();

  const app = await buildApp(resources);
  const gateway = createGateway(app.server, resources); // socket.io shares the API's port: one origin
  const worker = startWorker(resources);
  const url = await app.listen({ port: config.port, host: config.host });

  return {
    app, gateway, worker, resources, url,
    async close() {
      await gateway.close(); // sockets first: they would hold the HTTP server open
      await app.close();
      await worker.close();
      await resources.close();
      await s3?.close();
    },
  };
}
