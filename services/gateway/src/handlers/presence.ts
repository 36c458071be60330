// Owns this gateway process's part of presence (the store is shared/presence.ts): it is one node
// with a random id and a heartbeat in Redis, registers each socket under that node, announces
// the user's 0↔1 transitions to their server rooms, and reaps nodes whose heartbeat expired
// (announcing their users' offline and their voice states' end). Time bound: a killed gateway's
// users go offline within presence.ttlMs + presence.heartbeatMs (config). At shutdown, close()
// cleans up its own node before the sockets close. If this node finds its own heartbeat expired
// (stalled past the TTL, so it may have been reaped), it drops its sockets: they reconnect and
// register again, rather than stay connected but counted offline. A disconnect whose cleanup
// failed (Redis briefly away) is retried by the next heartbeat, which unregisters every socket
// of this node that is no longer connected (and ends the voice states they owned).
import { randomUUID } from 'node:crypto';
import type { Db } from '@nexusguild/shared/db/index';
import { rooms } from '@nexusguild/shared/events';
import type { Logger } from '@nexusguild/shared/log';
import { presenceStore, type Reaped } from '@nexusguild/shared/presence';
import type { Redis, RedisKeys } from '@nexusguild/shared/redis';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import type { Config } from '@nexusguild/shared/config';
import type { GatewayServer, GatewaySocket } from '../app.ts';
import { announceVoiceEnd } from './voice.ts';

export interface PresenceNode {
  readonly id: string;
  /** False once the node stopped (close or halt): sockets are no longer registered or cleaned up. */
  readonly tracking: boolean;
  /** Registers the socket's presence; its disconnect unregisters it. */
  attach(socket: GatewaySocket): void;
  /** Graceful: stops heartbeating and removes this node's sockets and voice states, announcing it. */
  close(): Promise<void>;
  /** Stops heartbeating and tracking without cleaning up: what a killed process leaves behind. */
  halt(): void;
}

interface Deps {
  config: Pick<Config, 'presence'>;
  redis: Redis;
  keys: RedisKeys;
  sql: Db;
  log: Logger;
}

export function presenceNode(io: GatewayServer, { config, redis, keys, sql, log }: Deps): PresenceNode {
  const id = randomUUID();
  const store = presenceStore(redis, keys);
  const servers = serversRepo(sql);
  const { heartbeatMs, ttlMs } = config.presence;
  let tracking = true;
  let stale = false; // a disconnect's cleanup failed: the next beat sweeps this node's entries

  // Announcements of one user leave this process in the order Redis decided their transitions
  // (each waits for a server list query, which could otherwise finish out of order).
  const queues = new Map<string, Promise<void>>();
  function announce(userId: string, task: () => Promise<void>) {
    const next = (queues.get(userId) ?? Promise.resolve())
      .then(task)
      .catch((err: Error) => log.warn({ userId, err: err.message }, 'presence announcement failed'));
    queues.set(userId, next);
    void next.finally(() => queues.get(userId) === next && queues.delete(userId));
  }

  // Another gateway may announce the next transition of the same user before this one leaves
  // (their emits travel separately): an announcement the state no longer matches is dropped, so
  // what clients see last is the state Redis holds.
  const presenceUpdate = (userId: string, username: string, status: 'online' | 'offline') =>
    announce(userId, async () => {
      const serverIds = await servers.idsFor(userId);
      if (!serverIds.length || (await store.online([userId])).has(userId) !== (status === 'online')) return;
      io.to(serverIds.map(rooms.server)).emit('presence_update', { userId, username, status });
    });

  function announceReaped({ offline, voice }: Reaped) {
    for (const u of offline) presenceUpdate(u.userId, u.username, 'offline');
    for (const s of voice) announceVoiceEnd(io, sql, log, s);
  }

  /** Unregisters a socket that is gone: announces the user's offline if it was their last, and the end of the voice state it owned. */
  async function unregister(socketId: string, userId: string, username: string) {
    const { offline, voice } = await store.disconnect(id, socketId, userId);
    if (offline) presenceUpdate(userId, username, 'offline');
    if (voice) announceVoiceEnd(io, sql, log, voice);
  }

  function onDisconnect(this: GatewaySocket) {
    if (!tracking) return;
    const { userId, username } = this.data;
    unregister(this.id, userId, username).catch((err: Error) => {
      stale = true;
      log.warn({ userId, err: err.message }, 'presence disconnect failed (retried at the next heartbeat)');
    });
  }

  /** Unregisters this node's entries whose sockets are gone (a failed cleanup, retried). */
  async function sweep() {
    stale = false;
    const local = io.of('/').sockets;
    for (const [socketId, { userId, username }] of await store.sockets(id)) {
      if (!local.has(socketId)) await unregister(socketId, userId, username);
    }
  }

  async function beat() {
    if (!(await store.heartbeat(id, ttlMs))) {
      log.warn({ node: id }, 'presence heartbeat had expired: reconnecting this gateway\'s sockets');
      await store.heartbeat(id, ttlMs, true);
      io.local.disconnectSockets(true);
    }
    announceReaped(await store.reap());
    if (stale) await sweep().catch((err: Error) => ((stale = true), log.warn({ err: err.message }, 'presence sweep failed')));
  }

  // Started before any socket registers (same connection, so Redis sees it first).
  store.heartbeat(id, ttlMs, true).catch((err: Error) => log.warn({ err: err.message }, 'presence heartbeat failed'));
  let beating = false;
  const timer = setInterval(() => {
    if (beating) return; // a slow Redis: never pile up beats
    beating = true;
    beat()
      .catch((err: Error) => log.warn({ err: err.message }, 'presence heartbeat failed'))
      .finally(() => (beating = false));
  }, heartbeatMs);
  timer.unref();

  function halt() {
    tracking = false;
    clearInterval(timer);
  }

  return {
    id,
    get tracking() {
      return tracking;
    },
    attach(socket) {
      if (!tracking) return;
      const { userId, username } = socket.data;
      socket.on('disconnect', onDisconnect);
      store.connect(id, socket.id, userId, username).then(
        (first) => first && presenceUpdate(userId, username, 'online'),
        (err: Error) => log.warn({ userId, err: err.message }, 'presence connect failed'),
      );
    },
    async close() {
      if (!tracking) return;
      halt();
      announceReaped(await store.reap(id).catch(() => ({ offline: [], voice: [] })));
      await Promise.all(queues.values());
    },
    halt,
  };
}
