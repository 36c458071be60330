// Owns cross-origin rules: CORS for origins in CORS_ORIGINS, and a CSRF guard that refuses
// state-changing requests a browser sent from any other origin (SameSite=Lax is the first line).
import type { FastifyInstance } from 'fastify';
import { isAllowedOrigin } from '@nexusguild/shared/origins';
import { forbidden } from '../errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function registerOriginPolicy(app: FastifyInstance, corsOrigins: readonly string[]) {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin) return;
    if (corsOrigins.includes(origin)) {
      reply.header('Access-Control-Allow-Origin', origin).header('Access-Control-Allow-Credentials', 'true').header('Vary', 'Origin');
      if (request.method === 'OPTIONS') {
        return reply
          .header('Access-Control-Allow-Methods', 'GET,POST,PUT,PATCH,DELETE')
          .header('Access-Control-Allow-Headers', request.headers['access-control-request-headers'] ?? 'content-type')
          .header('Access-Control-Max-Age', '600')
          .status(204)
          .send();
      }
      return;
    }
    if (!SAFE_METHODS.has(request.method) && !isAllowedOrigin(origin, request.headers.host, corsOrigins)) {
      throw forbidden('Origin not allowed');
    }
  });
}
