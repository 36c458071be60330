// buildApp: the whole REST tier as a Fastify instance, with no listen(), so tests drive it with
// inject() and the all-in-one process and the split API process mount the same thing.
import { randomUUID } from 'node:crypto';
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import { withRequestId } from '@nexusguild/shared/log';
import type { Resources } from '@nexusguild/shared/runtime';
import { registerErrorHandling } from './plugins/errors.ts';
import { registerMetrics } from './plugins/metrics.ts';
import { registerOriginPolicy } from './plugins/origin.ts';
import { registerRateLimit } from './plugins/rate-limit.ts';
import { registerSession } from './plugins/session.ts';
import { authRoutes } from './routes/auth/routes.ts';
import { channelRoutes } from './routes/channels/routes.ts';
import { dmRoutes } from './routes/dms/routes.ts';
import { emojiRoutes } from './routes/emojis/routes.ts';
import { healthRoutes } from './routes/health/routes.ts';
import { messageRoutes } from './routes/messages/routes.ts';
import { moderationRoutes } from './routes/moderation/routes.ts';
import { reactionRoutes } from './routes/reactions/routes.ts';
import { roleRoutes } from './routes/roles/routes.ts';
import { serverRoutes } from './routes/servers/routes.ts';
import { uploadRoutes } from './routes/uploads/routes.ts';
import { avatarRoutes, userRoutes } from './routes/users/routes.ts';
import { voiceRoutes } from './routes/voice/routes.ts';
import { ErrorBody, User } from './schemas.ts';

export type ApiDeps = Omit<Resources, 'close'>;
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** JSON bodies are small; uploads go through multipart with their own limits. */
const JSON_BODY_LIMIT = 64 * 1024;

export async function buildApp(deps: ApiDeps): Promise<App> {
  const { config, redis, keys } = deps;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger, // a pino Logger; plugins are typed against the base logger
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: JSON_BODY_LIMIT,
    trustProxy: config.trustProxy,
    // Ids must be unique across every API process (Fastify's default counts per process). A
    // client's (or the proxy's) X-Request-Id is kept only when it is a UUID, so nobody can forge
    // another request's id in the logs.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && UUID.test(given) ? given.toLowerCase() : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: true, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are JSON (or multipart where a route adds it): any other type is a 415, not a string
  // body that fails validation as a 400.
  app.removeContentTypeParser('text/plain');
  // The request id follows the request into the events and jobs it causes, and back to the client.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    withRequestId(request.id, done);
  });

  registerErrorHandling(app);
  registerMetrics(app); // /metrics and request latency, before any route so every route is timed
  registerOriginPolicy(app, config.corsOrigins);
  app.addSchema(ErrorBody);
  app.addSchema(User);
  await app.register(fastifySwagger, {
    openapi: { info: { title: 'NexusGuild API', version: '1.0.0' } },
  });
  await registerRateLimit(app, config.rateLimitEnabled, redis, keys);
  await registerSession(app, config, redis, keys);

  await healthRoutes(app, deps);
  await authRoutes(app, deps);
  await channelRoutes(app, deps);
  await serverRoutes(app, deps);
  await roleRoutes(app, deps);
  await moderationRoutes(app, deps);
  await userRoutes(app, deps);
  await voiceRoutes(app, deps);
  await reactionRoutes(app, deps);
  await uploadRoutes(app, deps);
  // Routes that take files: multipart/form-data is parsed only here (each reads it with
  // uploads.ts's receiveUpload, which sets the limits per route); elsewhere it stays a 415.
  await app.register(async (scope) => {
    await scope.register(fastifyMultipart);
    const files = scope.withTypeProvider<TypeBoxTypeProvider>();
    await messageRoutes(files, deps);
    await avatarRoutes(files, deps);
    await dmRoutes(files, deps);
    await emojiRoutes(files, deps);
  });

  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  return app;
}
