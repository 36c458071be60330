// Owns the path from a committed write to sockets on every gateway, in the wire format of the
// gateways' adapter: the classic Redis adapter (PUBLISH, through @socket.io/redis-emitter) or the
// sharded one (Redis 7 SPUBLISH, which has no emitter package, so its few messages are built here).
// The API decides *what* to send; this decides *how* it travels.
import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { EventName, EventPayload, ServerToClientEvents } from './events.ts';
import { RECHECK_ACCESS, rooms } from './events.ts';
import { currentRequestId, type Logger } from './log.ts';
import { eventsPublished } from './metrics.ts';
import { tolerateUnawaitedCommands, type RedisKeys } from './redis.ts';

export type AdapterMode = Config['redisAdapter'];

export interface Publisher {
  /** Emits one event to every socket in any of `room` (a room name or several, deduplicated). */
  emit<E extends EventName>(room: string | string[], event: E, payload: EventPayload<E>): void;
  /** Disconnects every socket opened with this login session, on every gateway. */
  endSession(sid: string): void;
  /** Makes a user's sockets leave rooms on every gateway (kick, ban, leave). */
  leaveRooms(userId: string, roomNames: string[]): void;
  /** Empties rooms on every gateway (a deleted server or channel). */
  clearRooms(roomNames: string[]): void;
  /**
   * Asks every gateway to re-check its sockets' channel rooms in a server against Postgres, after
   * a change (override, role, role assignment) that may have taken VIEW_CHANNEL from someone.
   */
  recheckAccess(serverId: string): void;
}

/** The four adapter operations the publisher needs. */
interface Transport {
  broadcast(to: string[], event: string, payload: unknown): void;
  socketsLeave(of: string[], leave: string[]): void;
  disconnectSockets(of: string[]): void;
  serverSideEmit(event: string, arg: unknown): void;
}

function classicTransport(redis: Redis, key: string): Transport {
  const emitter = new Emitter<ServerToClientEvents>(redis, { key });
  return {
    // The emitter's typing wants a spread tuple of a known event; callers are typed by Publisher.
    broadcast: (to, event, payload) => (emitter.to(to) as unknown as { emit(e: string, p: unknown): void }).emit(event, payload),
    socketsLeave: (of, leave) => emitter.in(of).socketsLeave(leave),
    disconnectSockets: (of) => emitter.in(of).disconnectSockets(true),
    serverSideEmit: (event, arg) => emitter.serverSideEmit(event, arg),
  };
}

/** socket.io-adapter's ClusterAdapter message types. */
const enum MessageType { BROADCAST = 3, SOCKETS_LEAVE = 5, DISCONNECT_SOCKETS = 6, SERVER_SIDE_EMIT = 9 }
const EVENT_PACKET = 2; // socket.io-parser's EVENT
/** The uid the adapters treat as "not a server" (the same one @socket.io/redis-emitter uses). */
const EMITTER_UID = 'emitter';

/**
 * The sharded adapter (`subscriptionMode: 'dynamic'`) listens on `<prefix>#/#` and, for each room
 * with members on that gateway, on `<prefix>#/#<room>#`: a broadcast to one room goes to the
 * room's channel, so only gateways with members in it receive it. Everything else goes to the
 * main channel. Messages are JSON (payloads never carry binary).
 */
function shardedTransport(redis: Redis, prefix: string): Transport {
  const main = `${prefix}#/#`;
  const send = (channel: string, type: MessageType, data: unknown) =>
    void redis.spublish(channel, JSON.stringify({ uid: EMITTER_UID, nsp: '/', type, data }));
  const opts = (of: string[]) => ({ rooms: of, except: [], flags: {} });
  return {
    broadcast: (to, event, payload) => send(to.length === 1 ? `${main}${to[0]}#` : main, MessageType.BROADCAST, {
      packet: { type: EVENT_PACKET, data: [event, payload], nsp: '/' },
      opts: opts(to),
    }),
    socketsLeave: (of, leave) => send(main, MessageType.SOCKETS_LEAVE, { opts: opts(of), rooms: leave }),
    disconnectSockets: (of) => send(main, MessageType.DISCONNECT_SOCKETS, { opts: opts(of), close: true }),
    serverSideEmit: (event, arg) => send(main, MessageType.SERVER_SIDE_EMIT, { packet: [event, arg] }),
  };
}

export function createPublisher(redis: Redis, keys: RedisKeys, mode: AdapterMode = 'classic', log?: Logger): Publisher {
  // Publishing is never awaited: a Redis outage must cost events, not the process.
  const client = tolerateUnawaitedCommands(redis);
  const transport = mode === 'sharded' ? shardedTransport(client, keys.socketio) : classicTransport(client, keys.socketio);
  return {
    emit(room, event, payload) {
      eventsPublished.inc({ event });
      const to = [room].flat();
      log?.debug({ requestId: currentRequestId(), event, rooms: to }, 'event published');
      transport.broadcast(to, event, payload);
    },
    endSession(sid) {
      transport.disconnectSockets([rooms.session(sid)]);
    },
    leaveRooms(userId, roomNames) {
      if (roomNames.length) transport.socketsLeave([rooms.user(userId)], roomNames);
    },
    clearRooms(roomNames) {
      if (roomNames.length) transport.socketsLeave(roomNames, roomNames);
    },
    recheckAccess(serverId) {
      transport.serverSideEmit(RECHECK_ACCESS, serverId);
    },
  };
}
