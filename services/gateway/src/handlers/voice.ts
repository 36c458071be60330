// Owns the socket side of server voice channels (the state is shared/voice.ts, in Redis):
// join_voice (member, a voice channel of that server, CONNECT at channel level), leave_voice,
// voice_state_change, the end of the state its socket owned when that socket disconnects, and the
// `voice_states` snapshot a socket receives when it joins a server room. Every change is announced
// as voice_state_update to the server room. The listeners are built once per gateway.
import { authorizer } from '@nexusguild/shared/authorize';
import type { Db } from '@nexusguild/shared/db/index';
import { rooms, type Ack } from '@nexusguild/shared/events';
import { isId } from '@nexusguild/shared/ids';
import type { Logger } from '@nexusguild/shared/log';
import { Flags } from '@nexusguild/shared/permissions';
import type { Redis, RedisKeys } from '@nexusguild/shared/redis';
import { voiceStore, voiceUpdate, type OwnedVoiceState } from '@nexusguild/shared/voice';
import type { GatewayServer, GatewaySocket } from '../app.ts';
import type { PresenceNode } from './presence.ts';

interface Deps {
  sql: Db;
  redis: Redis;
  keys: RedisKeys;
  log: Logger;
}

const MAX_BIGINT = 2n ** 63n - 1n;
const field = (arg: unknown, key: string): unknown => (typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[key] : undefined);
const idField = (arg: unknown, key: string): string | null => {
  const v = field(arg, key);
  return isId(v) && BigInt(v) <= MAX_BIGINT ? v : null;
};

function reply(ack: unknown, error: string | null) {
  if (typeof ack === 'function') (ack as Ack)(error ? { ok: false, error } : { ok: true });
}

export function voiceHandlers(io: GatewayServer, node: PresenceNode, { sql, redis, keys, log }: Deps) {
  const store = voiceStore(redis, keys);
  const authorize = authorizer(sql);

  /** A state ended: tell its server, and take the user's sockets out of its voice room. */
  function ended(state: OwnedVoiceState) {
    io.to(rooms.server(state.serverId)).emit('voice_state_update', voiceUpdate(state, false));
    io.in(rooms.user(state.userId)).socketsLeave(rooms.voice(state.channelId));
  }

  async function join(socket: GatewaySocket, arg: unknown): Promise<string | null> {
    const channelId = idField(arg, 'channelId');
    const serverId = idField(arg, 'serverId');
    if (!channelId || !serverId) return 'channelId and serverId are required';
    const { userId, username } = socket.data;
    const grant = await authorize.channel(channelId, userId, Flags.CONNECT);
    if ('refused' in grant) return grant.error;
    if (grant.channel.server_id !== serverId) return 'Channel not found';
    if (grant.channel.type !== 'voice') return 'Not a voice channel';
    const state: OwnedVoiceState = { userId, username, channelId, serverId, muted: false, deafened: false, socketId: socket.id };
    const joined = await store.join(state, node.id);
    if (!joined) return 'Disconnected';
    const { previous } = joined;
    if (previous && previous.channelId !== channelId) ended(previous);
    socket.join(rooms.voice(channelId));
    io.to(rooms.server(serverId)).emit('voice_state_update', voiceUpdate(state, true));
    return null;
  }

  async function change(socket: GatewaySocket, arg: unknown): Promise<string | null> {
    const muted = field(arg, 'muted');
    const deafened = field(arg, 'deafened');
    if ((muted !== undefined && typeof muted !== 'boolean') || (deafened !== undefined && typeof deafened !== 'boolean')) {
      return 'muted and deafened must be booleans';
    }
    const state = await store.update(socket.data.userId, { muted, deafened });
    if (!state) return 'Not in a voice channel';
    io.to(rooms.voice(state.channelId)).emit('user_voice_state', { userId: state.userId, muted: state.muted, deafened: state.deafened });
    io.to(rooms.server(state.serverId)).emit('voice_state_update', voiceUpdate(state, true));
    return null;
  }

  // Every answer is an ack; a failure of Redis or Postgres is "Service unavailable", never a throw.
  const answer = (work: Promise<string | null>, ack: unknown, event: string) =>
    work.then(
      (error) => reply(ack, error),
      (err: Error) => {
        log.warn({ event, err: err.message }, 'voice event failed');
        reply(ack, 'Service unavailable');
      },
    );

  function onJoinVoice(this: GatewaySocket, arg: unknown, ack?: unknown) {
    void answer(join(this, arg), ack, 'join_voice');
  }

  function onLeaveVoice(this: GatewaySocket, arg: unknown, ack?: unknown) {
    // Only the current channel when one is named (a late leave must not end a newer join).
    const channelId = field(arg, 'channelId') === undefined ? undefined : idField(arg, 'channelId');
    if (channelId === null) return reply(ack, 'Invalid channelId');
    void answer(store.end(this.data.userId, { channelId }).then((state) => (state && ended(state), null)), ack, 'leave_voice');
  }

  function onVoiceStateChange(this: GatewaySocket, arg: unknown, ack?: unknown) {
    void answer(change(this, arg), ack, 'voice_state_change');
  }

  function onDisconnect(this: GatewaySocket) {
    if (!node.tracking) return; // a halted node's states are reaped with it
    store.end(this.data.userId, { socketId: this.id }).then(
      (state) => state && ended(state),
      (err: Error) => log.warn({ err: err.message }, 'voice cleanup failed'),
    );
  }

  return {
    attach(socket: GatewaySocket): void {
      socket.on('join_voice', onJoinVoice);
      socket.on('leave_voice', onLeaveVoice);
      socket.on('voice_state_change', onVoiceStateChange);
      socket.on('disconnect', onDisconnect);
    },

    /** Sends a socket that just joined a server room who is in voice there. */
    snapshot(socket: GatewaySocket, serverId: string): void {
      store.inServer(serverId).then(
        (states) => socket.connected && socket.rooms.has(rooms.server(serverId)) && socket.emit('voice_states', { serverId, states }),
        (err: Error) => log.warn({ serverId, err: err.message }, 'voice snapshot failed'),
      );
    },
  };
}
