// Owns this gateway process's part of presence (the store is shared/presence.ts): it is one node
// with a random id and a heartbeat in Redis, registers each socket under that node, announces
// the user's 0↔1 transitions to their server rooms, and reaps nodes whose heartbeat expired
// (announcing their users' offline and their voice states' end). Time bound: a killed gateway's
// users go offline within presence.ttlMs + presence.heartbeatMs (config). At shutdown, close()
// cleans up its own node before the sockets close. If this node finds its own heartbeat expired
// (stalled past the TTL, so it may have been reaped), it drops its sockets: they reconnect and
// register again, rather than stay connected but counted offline.
import { randomUUID } from 'node:crypto';
import type { Db } from '@nexusguild/shared/db/index';
import { rooms } from '@nexusguild/shared/events';
import type { Logger } from '@nexusguild/shared/log';
import { presenceStore, type Reaped } from '@nexusguild/shared/presence';
import type { Redis, RedisKeys } from '@nexusguild/shared/redis';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import type { Config } from '@nexusguild/shared/config';
import { voiceUpdate } from '@nexusguild/shared/voice';
import type { GatewayServer, GatewaySocket } from '../app.ts';

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

  const presenceUpdate = (userId: string, username: string, status: 'online' | 'offline') =>
    announce(userId, async () => {
      const serverIds = await servers.idsFor(userId);
      if (serverIds.length) io.to(serverIds.map(rooms.server)).emit('presence_update', { userId, username, status });
    });

  function announceReaped({ offline, voice }: Reaped) {
    for (const u of offline) presenceUpdate(u.userId, u.username, 'offline');
    for (const s of voice) io.to(rooms.server(s.serverId)).emit('voice_state_update', voiceUpdate(s, false));
  }

  function onDisconnect(this: GatewaySocket) {
    if (!tracking) return;
    const { userId, username } = this.data;
    store.disconnect(id, this.id, userId).then(
      (last) => last && presenceUpdate(userId, username, 'offline'),
      (err: Error) => log.warn({ userId, err: err.message }, 'presence disconnect failed'),
    );
  }

  async function beat() {
    if (!(await store.heartbeat(id, ttlMs))) {
      log.warn({ node: id }, 'presence heartbeat had expired: reconnecting this gateway\'s sockets');
      await store.heartbeat(id, ttlMs, true);
      io.local.disconnectSockets(true);
    }
    announceReaped(await store.reap());
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
