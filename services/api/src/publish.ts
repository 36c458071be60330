// Owns the socket side effects of guild changes that involve more than one emit: who must leave
// which rooms (and whose voice state ends) when a member goes or a server or channel disappears,
// and who may hear of a channel. Routes call these after commit.
import { rooms, type EventName, type EventPayload } from '@nexusguild/shared/events';
import { needsThreadMembership } from '@nexusguild/shared/authorize';
import { Flags, channelPermissions, has } from '@nexusguild/shared/permissions';
import type { Publisher } from '@nexusguild/shared/publisher';
import { accessRepo, type GuardedChannel } from '@nexusguild/shared/repos/access';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import { voiceStore, voiceUpdate, type OwnedVoiceState } from '@nexusguild/shared/voice';
import type { ApiDeps } from './app.ts';

/** Each channel's text and voice rooms. */
export function channelRooms(channelIds: string[]): string[] {
  return channelIds.flatMap((id) => [rooms.channel(id), rooms.voice(id)]);
}

/** Every room that belongs to a server: its own, and each channel's text and voice rooms. */
export function serverRooms(serverId: string, channelIds: string[]): string[] {
  return [rooms.server(serverId), ...channelRooms(channelIds)];
}

/** Tells each server that voice states ended, and takes the users' sockets out of those voice rooms. */
export function announceVoiceEnded(publisher: Publisher, states: OwnedVoiceState[]): void {
  for (const s of states) {
    publisher.emit(rooms.server(s.serverId), 'voice_state_update', voiceUpdate(s, false));
    publisher.leaveRooms(s.userId, [rooms.voice(s.channelId)]);
  }
}

export function guildPublishing({ sql, publisher, redis, keys }: Pick<ApiDeps, 'sql' | 'publisher' | 'redis' | 'keys'>) {
  const voice = voiceStore(redis, keys);
  return {
    /**
     * A member left, was kicked or banned: tell the server, end their voice state there, then
     * pull their sockets out of its rooms.
     */
    async memberGone(serverId: string, userId: string): Promise<void> {
      publisher.emit(rooms.server(serverId), 'user_left', { userId, serverId });
      const ended = await voice.end(userId, { serverId });
      if (ended) announceVoiceEnded(publisher, [ended]);
      publisher.leaveRooms(userId, serverRooms(serverId, await serversRepo(sql).channelIds(serverId)));
    },

    /** A server or some of its channels were deleted: voice states there end. */
    async voiceGone(serverId: string, channelIds?: string[]): Promise<void> {
      const ended = channelIds
        ? (await Promise.all(channelIds.map((id) => voice.clear(serverId, id)))).flat()
        : await voice.clear(serverId);
      announceVoiceEnded(publisher, ended);
    },

    /**
     * An event that shows a channel (its name, topic): to the server room when every member may
     * view the channel, else only to the personal rooms of the members who may, so a private
     * channel's name never reaches the others.
     */
    async toViewers<E extends EventName>(channel: GuardedChannel, event: E, payload: EventPayload<E>): Promise<void> {
      const serverId = channel.server_id;
      const access = accessRepo(sql);
      const privateThread = channel.type === 'private_thread';
      const everyone = await access.everyone(serverId);
      if (everyone === null) return; // the server is gone meanwhile
      const open = !privateThread && has(everyone, Flags.VIEW_CHANNEL) && channel.overrides.every((o) => !(o.deny & Flags.VIEW_CHANNEL));
      if (open) return publisher.emit(rooms.server(serverId), event, payload);
      // A private channel: work out who may see it (one query for every member's roles). A
      // private thread's viewers are its parent's who are its members or manage threads, the
      // same rule as shared/authorize.ts.
      const threadMembers = privateThread ? await access.channelMemberIds(channel.id) : null;
      const members = (await access.members(serverId))?.members.values() ?? [];
      const viewers = [...members].filter((m) => {
        const permissions = channelPermissions(m, serverId, channel.overrides);
        if (!has(permissions, Flags.VIEW_CHANNEL)) return false;
        return !needsThreadMembership(channel.type, permissions) || threadMembers?.has(m.userId) === true;
      });
      if (viewers.length) publisher.emit(viewers.map((m) => rooms.user(m.userId)), event, payload);
    },
  };
}
