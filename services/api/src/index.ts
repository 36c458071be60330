// The API service's start function: build the app on shared resources and listen.
import type { Resources } from '@nexusguild/shared/runtime';
import { buildApp, type App } from './app.ts';

export { buildApp, type App, type ApiDeps } from './app.ts';

export async function startApi(resources: Resources, { port, host }: { port: number; host: string }): Promise<App> {
  const app = await buildApp(resources);
  closeConnectionsWhenClosing(app);
  await app.listen({ port, host });
  return app;
}

/**
 * Once close() has begun, every answer says `Connection: close`. Otherwise a keep-alive client
 * (HAProxy above all) whose request finished during shutdown keeps its idle connection open and
 * the node waits out the keep-alive timeout (5 s) before it can exit; this way the client moves
 * to another node at once.
 */
function closeConnectionsWhenClosing(app: App) {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}
