// Health: /api/health (public status), /healthz (the process is alive), /readyz (its
// dependencies answer: Postgres, Redis, S3). Load balancers route on /readyz.
import { Type } from '@fastify/type-provider-typebox';
import type { App, ApiDeps } from '../../app.ts';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref())]);
}

const Check = Type.Union([Type.Literal('ok'), Type.Literal('down')]);

export async function healthRoutes(app: App, { sql, redis, storage }: ApiDeps) {
  const started = Date.now();

  app.get('/api/health', {
    config: { public: true },
    schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.String(), timestamp: Type.String(), uptime: Type.Number() }) } },
  }, async () => ({ status: 'ok', timestamp: new Date().toISOString(), uptime: (Date.now() - started) / 1000 }));

  app.get('/healthz', {
    config: { public: true },
    schema: { hide: true, response: { 200: Type.Object({ status: Type.String() }) } },
  }, async () => ({ status: 'ok' }));

  const checks = {
    postgres: () => sql`SELECT 1`.then(() => undefined),
    redis: () => redis.ping().then(() => undefined),
    s3: () => storage.ping(),
  };
  app.get('/readyz', {
    config: { public: true },
    schema: {
      hide: true,
      response: {
        200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Check) }),
        503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Check) }),
      },
    },
  }, async (_request, reply) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(check()).then(() => 'ok' as const, () => 'down' as const)]),
    );
    const ready = results.every(([, r]) => r === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
  });
}
