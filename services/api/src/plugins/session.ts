// Owns who the caller is: the signed session cookie (@fastify/session on the shared Redis store)
// and the auth guard. Every route requires a session unless it says `config: { public: true }`.
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '@nexusguild/shared/config';
import type { RedisKeys } from '@nexusguild/shared/redis';
import {
  SESSION_COOKIE, SESSION_REFRESH_MS, SESSION_TTL_MS, createSessionStore, sessionSigner, type SessionData,
} from '@nexusguild/shared/sessions';
import { unauthorized } from '../errors.ts';

declare module 'fastify' {
  interface Session extends Partial<SessionData> {}
  interface FastifyContextConfig {
    /** Reachable without a session. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; set by the guard on every non-public route. */
    user: { id: string; username: string };
  }
}

export async function registerSession(app: FastifyInstance, config: Config, redis: Redis, keys: RedisKeys) {
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: sessionSigner(config.sessionSecret),
    cookieName: SESSION_COOKIE,
    // The store returns sessions as parsed JSON (dates as strings); @fastify/session revives them.
    store: createSessionStore(redis, keys) as unknown as fastifySession.SessionStore,
    saveUninitialized: false,
    // Rolling expiry without a Redis write per request: the guard refreshes at most daily.
    rolling: false,
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, maxAge: SESSION_TTL_MS },
  });

  app.decorateRequest('user', null as unknown as FastifyRequest['user']);
  // onRequest, so a caller without a session hears 401 before anything about its input.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public || request.is404) return;
    const { userId, username } = request.session;
    if (!userId || !username) throw unauthorized();
    const refreshedAt = request.session.refreshedAt ?? 0;
    if (Date.now() - refreshedAt > SESSION_REFRESH_MS) request.session.refreshedAt = Date.now();
    request.user = { id: userId, username };
  });
}

/** Starts a fresh session for a user who just proved who they are (new id: no fixation). */
export async function startSession(request: FastifyRequest, user: { id: string; username: string }) {
  await request.session.regenerate();
  request.session.userId = user.id;
  request.session.username = user.username;
  request.session.refreshedAt = Date.now();
}
