// The API service's start function: build the app on shared resources and listen.
import type { Resources } from '@nexusguild/shared/runtime';
import { buildApp, type App } from './app.ts';

export { buildApp, type App, type ApiDeps } from './app.ts';

export async function startApi(resources: Resources, { port, host }: { port: number; host: string }): Promise<App> {
  const app = await buildApp(resources);
  await app.listen({ port, host });
  return app;
}
