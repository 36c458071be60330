// Owns typing indicators: start_typing / stop_typing are relayed to the channel room and
// dm_typing / dm_stop_typing to the DM room, sender excluded, and only from a socket that is in
// that room (its join was checked: VIEW_CHANNEL, or being the conversation's participant; a
// recheck that took a channel away removed it), so no event reads the database. A socket relays at
// most one start per room every START_EVERY_MS and a stop only after its start; when it
// disconnects, its typing ends in every room it was typing in. A kind of room is one entry in
// KINDS plus its two listeners.
import { rooms } from '@nexusguild/shared/events';
import type { GatewaySocket } from '../app.ts';
import { idOf } from './rooms.ts';

/** A socket's starts in one room closer together than this are not relayed (clients send one per ~1 s). */
export const START_EVERY_MS = 1500;
/** Rooms one socket may be typing in at once; a client types in one. */
export const MAX_TYPING = 16;

interface Kind {
  key: 'channelId' | 'dmId';
  room(id: string): string;
  start(socket: GatewaySocket, id: string): void;
  stop(socket: GatewaySocket, id: string): void;
}

/** By room-name prefix, so a disconnect can tell which kind each of its typing rooms is. */
const KINDS: Record<string, Kind> = {
  channel: {
    key: 'channelId',
    room: rooms.channel,
    start: (s, channelId) => s.to(rooms.channel(channelId)).emit('user_typing', { channelId, userId: s.data.userId, username: s.data.username }),
    stop: (s, channelId) => s.to(rooms.channel(channelId)).emit('user_stop_typing', { channelId, userId: s.data.userId, username: s.data.username }),
  },
  dm: {
    key: 'dmId',
    room: rooms.dm,
    start: (s, dmId) => s.to(rooms.dm(dmId)).emit('dm_typing', { dmId, userId: s.data.userId, username: s.data.username }),
    stop: (s, dmId) => s.to(rooms.dm(dmId)).emit('dm_stop_typing', { dmId, userId: s.data.userId }),
  },
};

/** Sockets that are typing: room → when the last start there was relayed. Nothing for the others. */
const typing = new WeakMap<GatewaySocket, Map<string, number>>();

function start(socket: GatewaySocket, kind: Kind, arg: unknown): void {
  const id = idOf(arg, kind.key);
  if (!id || !socket.rooms.has(kind.room(id))) return;
  const room = kind.room(id);
  const now = performance.now();
  let mine = typing.get(socket);
  const last = mine?.get(room);
  if (last !== undefined && now - last < START_EVERY_MS) return;
  if (!mine) typing.set(socket, (mine = new Map()));
  else if (last === undefined && mine.size >= MAX_TYPING) return;
  mine.set(room, now);
  kind.start(socket, id);
}

function stop(socket: GatewaySocket, kind: Kind, arg: unknown): void {
  const id = idOf(arg, kind.key);
  if (!id) return;
  const room = kind.room(id);
  const mine = typing.get(socket);
  if (!mine?.delete(room)) return; // not typing there: nothing to end
  if (!mine.size) typing.delete(socket);
  if (socket.rooms.has(room)) kind.stop(socket, id);
}

/** On 'disconnecting' (the socket is still in its rooms): its typing ends everywhere. */
function onDisconnecting(this: GatewaySocket): void {
  const mine = typing.get(this);
  if (!mine) return;
  typing.delete(this);
  for (const room of mine.keys()) {
    const at = room.indexOf(':');
    if (this.rooms.has(room)) KINDS[room.slice(0, at)]?.stop(this, room.slice(at + 1));
  }
}

function onStartTyping(this: GatewaySocket, arg: unknown) {
  start(this, KINDS.channel!, arg);
}
function onStopTyping(this: GatewaySocket, arg: unknown) {
  stop(this, KINDS.channel!, arg);
}
function onDmTyping(this: GatewaySocket, arg: unknown) {
  start(this, KINDS.dm!, arg);
}
function onDmStopTyping(this: GatewaySocket, arg: unknown) {
  stop(this, KINDS.dm!, arg);
}

/** Module-level listeners: nothing is allocated per socket until it types. */
export function attachTyping(socket: GatewaySocket): void {
  socket.on('start_typing', onStartTyping);
  socket.on('stop_typing', onStopTyping);
  socket.on('dm_typing', onDmTyping);
  socket.on('dm_stop_typing', onDmStopTyping);
  socket.on('disconnecting', onDisconnecting);
}
