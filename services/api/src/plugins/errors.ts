// Owns every error reply: typed HttpErrors, Fastify's validation and parser errors, unknown
// routes, and anything unexpected. Client input never yields a 500; internals never leak.
import type { FastifyError, FastifyInstance } from 'fastify';
import { HttpError, type ErrorDetail } from '../errors.ts';

// Connection-level failures of Postgres (postgres.js) or Redis (ioredis): a dependency is down.
const DEPENDENCY_DOWN = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED',
  'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P03', '53300',
]);

const NUMERIC_OUT_OF_RANGE = '22003';
const UNSTORABLE_TEXT = new Set(['22021', '22P05']); // character_not_in_repertoire, untranslatable_character

function isDependencyDown(err: FastifyError & { name?: string }): boolean {
  return DEPENDENCY_DOWN.has(err.code) || err.name === 'MaxRetriesPerRequestError' || /Connection is closed/.test(err.message);
}

function validationDetails(err: FastifyError): ErrorDetail[] {
  return (err.validation ?? []).map((v) => {
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const missing = (v.params as { missingProperty?: string }).missingProperty;
    const field = [path, missing].filter(Boolean).join('.') || (err.validationContext ?? 'body');
    return { field, message: v.message ?? 'is invalid' };
  });
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send(err.details ? { error: err.message, details: err.details } : { error: err.message });
    }
    if (err.validation) {
      const details = validationDetails(err);
      const first = details[0];
      const message = first ? `${first.field} ${first.message}` : 'Invalid request';
      return reply.status(400).send({ error: message, details });
    }
    // An id of 20 digits passes the schema but can exceed int8: no such row can exist.
    if (err.code === NUMERIC_OUT_OF_RANGE) return reply.status(400).send({ error: 'A number in the request is out of range' });
    // Text Postgres cannot store (a NUL character): the client's input, not our fault.
    if (UNSTORABLE_TEXT.has(err.code)) return reply.status(400).send({ error: 'Text may not contain NUL characters' });
    const status = err.statusCode ?? 500;
    if (status === 429) {
      return reply.status(429).send({ error: 'Too many requests, slow down' });
    }
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large) carry safe messages.
      return reply.status(status).send({ error: err.message });
    }
    if (isDependencyDown(err)) {
      request.log.warn({ err }, 'dependency unavailable');
      return reply.status(503).send({ error: 'Service temporarily unavailable' });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: 'Internal server error' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: `Route ${request.method} ${request.url.split('?')[0]} not found` });
  });
}
