// Owns login sessions: the signed cookie and the Redis store behind it. The API writes sessions
// through @fastify/session with this store; the gateway reads the same cookie with
// readSessionCookie, so both tiers agree on one format in one place.
import { Signer } from '@fastify/cookie';
import { parse as parseCookies } from 'cookie';
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis.ts';

export const SESSION_COOKIE = 'connect.sid';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/** Rolling expiry is renewed at most this often, so requests do not each write Redis. */
export const SESSION_REFRESH_MS = 24 * 3600 * 1000;

/** What a session holds besides the cookie: enough for the gateway to act without a query. */
export interface SessionData {
  userId: string;
  username: string;
  refreshedAt: number;
}

export const sessionSigner = (secret: string) => new Signer(secret, 'sha256');

interface StoredSession extends Partial<SessionData> {
  cookie?: { expires?: string | Date | null };
}

type Callback<T = void> = (err?: Error | null, value?: T) => void;

/** A stored session, or null when absent or unreadable (an unreadable entry is no session). */
function parseStored(raw: string | null): StoredSession | null {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as StoredSession;
  } catch {
    return null;
  }
}

/** The @fastify/session store contract on ioredis (connect-redis no longer speaks ioredis). */
export function createSessionStore(redis: Redis, keys: RedisKeys) {
  return {
    get(sid: string, cb: Callback<StoredSession | null>) {
      redis.get(keys.session(sid)).then((raw) => cb(null, parseStored(raw)), (err: Error) => cb(err));
    },
    set(sid: string, session: StoredSession, cb: Callback) {
      const expires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : Date.now() + SESSION_TTL_MS;
      const ttl = Math.max(1, expires - Date.now());
      const tx = redis.multi().set(keys.session(sid), JSON.stringify(session), 'PX', ttl);
      if (session.userId) {
        // Index of a user's sessions, so a password change can end the others.
        tx.sadd(keys.userSessions(session.userId), sid).pexpire(keys.userSessions(session.userId), SESSION_TTL_MS);
      }
      tx.exec().then(() => cb(), (err: Error) => cb(err));
    },
    destroy(sid: string, cb: Callback) {
      redis
        .getdel(keys.session(sid))
        .then(async (raw) => {
          const userId = parseStored(raw)?.userId;
          if (userId) await redis.srem(keys.userSessions(userId), sid);
        })
        .then(() => cb(), (err: Error) => cb(err));
    },
  };
}

export interface SessionCookieReader {
  /** The session behind a Cookie header, or null when absent, forged, expired or logged out. */
  read(cookieHeader: string | undefined): Promise<{ sid: string; data: SessionData } | null>;
}

export function sessionCookieReader(redis: Redis, keys: RedisKeys, secret: string): SessionCookieReader {
  const signer = sessionSigner(secret);
  return {
    async read(cookieHeader) {
      if (!cookieHeader) return null;
      const signed = parseCookies(cookieHeader)[SESSION_COOKIE];
      if (!signed) return null;
      const { valid, value: sid } = signer.unsign(signed);
      if (!valid || !sid) return null;
      const stored = parseStored(await redis.get(keys.session(sid)));
      if (!stored?.userId || !stored.username) return null;
      return { sid, data: { userId: stored.userId, username: stored.username, refreshedAt: stored.refreshedAt ?? 0 } };
    },
  };
}

/** Ends every session of a user except `keepSid`; returns the ended session ids. */
export async function endUserSessions(redis: Redis, keys: RedisKeys, userId: string, keepSid?: string): Promise<string[]> {
  const sids = (await redis.smembers(keys.userSessions(userId))).filter((sid) => sid !== keepSid);
  if (sids.length) {
    await redis
      .multi()
      .del(...sids.map((sid) => keys.session(sid)))
      .srem(keys.userSessions(userId), ...sids)
      .exec();
  }
  return sids;
}
