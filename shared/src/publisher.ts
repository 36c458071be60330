// Owns the path from a committed write to sockets on every gateway: a socket.io Redis emitter on
// the same channel prefix as the gateways' adapter. The API's publish.ts decides *what* to send;
// this decides *how* it travels.
import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import type { EventName, EventPayload, ServerToClientEvents } from './events.ts';
import { RECHECK_ACCESS, rooms } from './events.ts';
import { eventsPublished } from './metrics.ts';
import { tolerateUnawaitedCommands, type RedisKeys } from './redis.ts';

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

export function createPublisher(redis: Redis, keys: RedisKeys): Publisher {
  // The emitter publishes without awaiting: a Redis outage must cost events, not the process.
  const emitter = new Emitter<ServerToClientEvents>(tolerateUnawaitedCommands(redis), { key: keys.socketio });
  return {
    emit(room, event, payload) {
      eventsPublished.inc({ event });
      // The emitter's typing wants a spread tuple; the payload type is already checked above.
      (emitter.to(room) as unknown as { emit(e: string, p: unknown): void }).emit(event, payload);
    },
    endSession(sid) {
      emitter.in(rooms.session(sid)).disconnectSockets(true);
    },
    leaveRooms(userId, roomNames) {
      if (roomNames.length) emitter.in(rooms.user(userId)).socketsLeave(roomNames);
    },
    clearRooms(roomNames) {
      if (roomNames.length) emitter.in(roomNames).socketsLeave(roomNames);
    },
    recheckAccess(serverId) {
      emitter.serverSideEmit(RECHECK_ACCESS, serverId);
    },
  };
}
