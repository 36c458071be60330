// Owns the socket side of server voice channels (the state is shared/voice.ts, in Redis):
// join_voice (member, a voice channel of that server, CONNECT at channel level), leave_voice,
// voice_state_change, and the `voice_states` snapshot a socket receives when it joins a server
// room. Every change is announced as voice_state_update to those who may view the channel. The state a socket
// owned ends with it: presence unregisters the socket and ends its voice state in one script
// (handlers/presence.ts). The listeners are built once per gateway.
import { channelAudience, visibleChannelIds } from '@nexusguild/shared/audience';
import { authorizer } from '@nexusguild/shared/authorize';
import type { Db } from '@nexusguild/shared/db/index';
import { rooms } from '@nexusguild/shared/events';
import { isId } from '@nexusguild/shared/ids';
import type { Logger } from '@nexusguild/shared/log';
import { Flags } from '@nexusguild/shared/permissions';
import type { Redis, RedisKeys } from '@nexusguild/shared/redis';
import { voiceStore, voiceUpdate, type OwnedVoiceState } from '@nexusguild/shared/voice';
import type { GatewayServer, GatewaySocket } from '../app.ts';
import type { PresenceNode } from './presence.ts';
import { exists, reply } from './rooms.ts';

interface Deps {
  sql: Db;
  redis: Redis;
  keys: RedisKeys;
  log: Logger;
}

const field = (arg: unknown, key: string): unknown => (typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[key] : undefined);
const idField = (arg: unknown, key: string): string | null => {
  const v = field(arg, key);
  return isId(v) && exists(v) ? v : null;
};

/**
 * Tells those who may view the state's channel (shared/audience.ts: the server room unless the
 * channel is private) that it began, changed or ended.
 */
async function announce(io: GatewayServer, sql: Db, state: OwnedVoiceState, joined: boolean): Promise<void> {
  const to = await channelAudience(sql, state.serverId, state.channelId);
  if (to.length) io.to(to).emit('voice_state_update', voiceUpdate(state, joined));
}

/** A state ended: tell its viewers, and take the user's sockets out of its voice room. */
export function announceVoiceEnd(io: GatewayServer, sql: Db, log: Logger, state: OwnedVoiceState): void {
  io.in(rooms.user(state.userId)).socketsLeave(rooms.voice(state.channelId));
  announce(io, sql, state, false).catch((err: Error) => log.warn({ userId: state.userId, err: err.message }, 'voice end announcement failed'));
}

export function voiceHandlers(io: GatewayServer, node: PresenceNode, { sql, redis, keys, log }: Deps) {
  const store = voiceStore(redis, keys);
  const authorize = authorizer(sql);
  const ended = (state: OwnedVoiceState) => announceVoiceEnd(io, sql, log, state);

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
    await announce(io, sql, state, true);
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
    await announce(io, sql, state, true);
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

  return {
    attach(socket: GatewaySocket): void {
      socket.on('join_voice', onJoinVoice);
      socket.on('leave_voice', onLeaveVoice);
      socket.on('voice_state_change', onVoiceStateChange);
    },

    /** Sends a socket that just joined a server room who is in voice there, in the channels it may view. */
    snapshot(socket: GatewaySocket, serverId: string): void {
      Promise.all([store.inServer(serverId), visibleChannelIds(sql, serverId, socket.data.userId)]).then(
        ([states, visible]) => socket.connected && socket.rooms.has(rooms.server(serverId))
          && socket.emit('voice_states', { serverId, states: states.filter((s) => visible.has(s.channelId)) }),
        (err: Error) => log.warn({ serverId, err: err.message }, 'voice snapshot failed'),
      );
    },
  };
}
