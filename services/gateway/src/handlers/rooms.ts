// Owns server, channel and DM room membership on this gateway: every join_server / join_channel /
// join_dm is checked against Postgres (membership; VIEW_CHANNEL after overrides; being a
// conversation's participant) before the socket enters the room, and `recheck_access` (sent by
// the API after an override or role change) pulls this gateway's sockets out of the channel rooms
// they may no longer view. Kick, ban, leave and deletion need nothing here: the API makes the
// sockets leave through the adapter.
import { authorizer, needsThreadMembership, type Refusal, type ServerGrant } from '@nexusguild/shared/authorize';
import type { Db } from '@nexusguild/shared/db/index';
import type { Logger } from '@nexusguild/shared/log';
import { RECHECK_ACCESS, rooms, type Ack } from '@nexusguild/shared/events';
import { isId } from '@nexusguild/shared/ids';
import { Flags, channelPermissions, has } from '@nexusguild/shared/permissions';
import { accessRepo, type GuardedChannel } from '@nexusguild/shared/repos/access';
import { dmsRepo } from '@nexusguild/shared/repos/dms';
import type { GatewayServer, GatewaySocket } from '../app.ts';

/** Per socket and kind, so a client cannot grow the adapter's room maps without bound. */
export const MAX_ROOMS = { server: 1000, channel: 1000, dm: 1000 } as const;

const MAX_BIGINT = 2n ** 63n - 1n; // a longer id is well-formed but cannot exist (Postgres BIGINT)

type Kind = keyof typeof MAX_ROOMS;

/** The id a client passed: a bare string, or an object carrying `serverId`/`channelId`/`dmId` or `id`. */
export function idOf(arg: unknown, key: 'serverId' | 'channelId' | 'dmId'): string | null {
  const value = typeof arg === 'object' && arg !== null ? ((arg as Record<string, unknown>)[key] ?? (arg as Record<string, unknown>).id) : arg;
  return isId(value) ? value : null;
}

/** Whether a well-formed id could name a row at all (it fits Postgres BIGINT). */
export const exists = (id: string) => BigInt(id) <= MAX_BIGINT;

/** Answers an ack, if the client passed one: `{ok: true}`, or `{ok: false, error}` with the refusal. */
export function reply(ack: unknown, refusal: string | null) {
  if (typeof ack === 'function') (ack as Ack)(refusal ? { ok: false, error: refusal } : { ok: true });
}

/**
 * A check's answer: why not, or allowed (refusal null) with the server the room belongs to (null
 * for a conversation, whose participants no recheck changes).
 */
type Verdict = { refusal: string } | { refusal: null; serverId: string | null };

/** A join whose check is still running; a leave of the same room meanwhile cancels it. */
interface Pending {
  room: string;
  kind: Kind;
  left: boolean;
}

/** `joinedServer` runs after each successful join_server (voice sends its snapshot). */
export function roomHandlers(io: GatewayServer, sql: Db, log: Logger, joinedServer?: (socket: GatewaySocket, serverId: string) => void) {
  const access = accessRepo(sql);
  const authorize = authorizer(sql);
  const dms = dmsRepo(sql);
  // When each server was last rechecked (a running count of rechecks). A join whose check read
  // Postgres before that recheck's change committed could otherwise enter a room after the
  // recheck looked at it: it checks again. Only a recheck of the join's own server counts.
  let sequence = 0;
  let forgottenBefore = 0; // the map is cleared when large: joins older than that check again
  const lastRecheck = new Map<string, number>();
  const recheckedSince = (serverId: string, seen: number) => seen < forgottenBefore || (lastRecheck.get(serverId) ?? 0) > seen;

  // One recheck per server at a time; requests meanwhile fold into one more run after it.
  const running = new Map<string, { again: boolean }>();
  function scheduleRecheck(serverId: string) {
    const current = running.get(serverId);
    if (current) return void (current.again = true);
    const state = { again: false };
    running.set(serverId, state);
    recheck(serverId)
      .catch((err: Error) => log.warn({ serverId, err: err.message }, 'recheck_access failed'))
      .finally(() => {
        running.delete(serverId);
        if (state.again) scheduleRecheck(serverId);
      });
  }

  io.on(RECHECK_ACCESS, (serverId) => {
    if (!isId(serverId)) return;
    sequence += 1;
    if (lastRecheck.size >= 10_000) {
      lastRecheck.clear();
      forgottenBefore = sequence;
    }
    lastRecheck.set(serverId, sequence);
    scheduleRecheck(serverId);
  });

  /** Makes this gateway's sockets leave the channel rooms of `serverId` they may no longer view. */
  async function recheck(serverId: string): Promise<void> {
    const nsp = io.of('/');
    const channels = await access.channels(serverId, { threads: true });
    const inRooms = new Map<string, GuardedChannel[]>(); // local socket id → its channel rooms here
    for (const channel of channels) {
      for (const socketId of nsp.adapter.rooms.get(rooms.channel(channel.id)) ?? []) {
        const joined = inRooms.get(socketId);
        if (joined) joined.push(channel);
        else inRooms.set(socketId, [channel]);
      }
    }
    const userIds = new Set([...inRooms.keys()].flatMap((id) => nsp.sockets.get(id)?.data.userId ?? []));
    if (!userIds.size) return;
    const found = await access.members(serverId, [...userIds]);
    // Private threads with sockets here: their members, for those who view them by membership.
    const threadMembers = new Map<string, Set<string>>();
    for (const channel of channels) {
      if (channel.type === 'private_thread' && nsp.adapter.rooms.has(rooms.channel(channel.id))) {
        threadMembers.set(channel.id, await access.channelMemberIds(channel.id));
      }
    }
    for (const [socketId, joined] of inRooms) {
      const socket = nsp.sockets.get(socketId);
      if (!socket) continue; // disconnected meanwhile
      const { userId } = socket.data;
      const member = found?.members.get(userId);
      if (!member) socket.leave(rooms.server(serverId));
      for (const channel of joined) {
        const permissions = member ? channelPermissions(member, serverId, channel.overrides) : 0n;
        const views = has(permissions, Flags.VIEW_CHANNEL)
          && (!needsThreadMembership(channel.type, permissions) || threadMembers.get(channel.id)?.has(userId) === true);
        if (!views) socket.leave(rooms.channel(channel.id));
      }
    }
  }

  /** The API's own decision (membership; VIEW_CHANNEL for a channel), as a join's verdict. */
  const verdict = (result: ServerGrant | Refusal): Verdict =>
    'refused' in result ? { refusal: result.error } : { refusal: null, serverId: result.server.id };
  const mayJoinServer = async (serverId: string, userId: string): Promise<Verdict> =>
    exists(serverId) ? verdict(await authorize.server(serverId, userId)) : { refusal: 'Server not found' };
  const mayJoinChannel = async (channelId: string, userId: string): Promise<Verdict> =>
    exists(channelId) ? verdict(await authorize.channel(channelId, userId)) : { refusal: 'Channel not found' };
  /** Participants only; an unknown conversation is refused alike (the REST routes' rule). */
  const mayJoinDm = async (dmId: string, userId: string): Promise<Verdict> => {
    const conversation = exists(dmId) ? await dms.conversation(dmId) : null;
    return conversation?.participants.includes(userId) ? { refusal: null, serverId: null } : { refusal: 'Access denied' };
  };

  /** Rooms of `kind` the socket is in or is joining: bounded by MAX_ROOMS. */
  const count = (socket: GatewaySocket, pending: Set<Pending>, kind: Kind) => {
    let n = 0;
    for (const room of socket.rooms) if (room.startsWith(`${kind}:`)) n += 1;
    for (const p of pending) if (p.kind === kind) n += 1;
    return n;
  };

  /** Checks, then joins; null on success, else the refusal. Never throws. */
  async function join(socket: GatewaySocket, pending: Set<Pending>, kind: Kind, room: string, check: () => Promise<Verdict>): Promise<string | null> {
    if (socket.rooms.has(room)) return null;
    if (count(socket, pending, kind) >= MAX_ROOMS[kind]) return `Too many ${kind} rooms (at most ${MAX_ROOMS[kind]})`;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const p: Pending = { room, kind, left: false };
      const seen = sequence;
      pending.add(p);
      let verdict: Verdict;
      try {
        verdict = await check();
      } catch {
        return 'Service unavailable';
      } finally {
        pending.delete(p);
      }
      if (verdict.refusal !== null) return verdict.refusal;
      if (p.left) return 'Left the room before the join completed';
      if (socket.disconnected) return null; // joining now would leave a ghost entry in the adapter
      if (verdict.serverId === null || !recheckedSince(verdict.serverId, seen)) {
        socket.join(room);
        return null;
      }
    }
    return 'Service unavailable'; // access kept changing under the check; the client may retry
  }

  // Per socket only what must be: its pending joins, the leave hook and the four listeners.
  // Helpers live above, once per gateway: each named closure made per socket costs ~0.3 KB
  // (tsx's keepNames gives every one a property dictionary), see bench/RESULTS.md.
  return function attach(socket: GatewaySocket): void {
    const pending = new Set<Pending>();

    // Every leave goes through socket.leave: the client's own, and the adapter applying the API's
    // forced leaves (kick, ban, leave) to each socket of the user, whether in the room or not.
    // A join still checking must not land after it, or a kicked user could race back in.
    const leave = socket.leave.bind(socket);
    socket.leave = (room: string) => {
      for (const p of pending) if (p.room === room) p.left = true;
      return leave(room);
    };

    socket.on('join_server', async (arg: unknown, ack?: unknown) => {
      const id = idOf(arg, 'serverId');
      const refusal = id ? await join(socket, pending, 'server', rooms.server(id), () => mayJoinServer(id, socket.data.userId)) : 'Invalid id';
      reply(ack, refusal);
      if (id && !refusal && socket.rooms.has(rooms.server(id))) joinedServer?.(socket, id);
    });

    socket.on('join_channel', async (arg: unknown, ack?: unknown) => {
      const id = idOf(arg, 'channelId');
      reply(ack, id ? await join(socket, pending, 'channel', rooms.channel(id), () => mayJoinChannel(id, socket.data.userId)) : 'Invalid id');
    });

    // A DM room carries typing only (messages reach the personal rooms, notes §4.6).
    socket.on('join_dm', async (arg: unknown, ack?: unknown) => {
      const id = idOf(arg, 'dmId');
      reply(ack, id ? await join(socket, pending, 'dm', rooms.dm(id), () => mayJoinDm(id, socket.data.userId)) : 'Invalid id');
    });

    // Leaving needs no check; leaving a room one is not in is a no-op.
    socket.on('leave_server', (arg: unknown, ack?: unknown) => {
      const id = idOf(arg, 'serverId');
      if (id) socket.leave(rooms.server(id));
      reply(ack, null);
    });

    socket.on('leave_channel', (arg: unknown, ack?: unknown) => {
      const id = idOf(arg, 'channelId');
      if (id) socket.leave(rooms.channel(id));
      reply(ack, null);
    });

    socket.on('leave_dm', (arg: unknown, ack?: unknown) => {
      const id = idOf(arg, 'dmId');
      if (id) socket.leave(rooms.dm(id));
      reply(ack, null);
    });
  };
}
