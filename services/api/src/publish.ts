// Owns the socket side effects of guild changes that involve more than one emit: who must leave
// which rooms (and whose voice state ends) when a member goes or a server or channel disappears,
// and who may hear of a channel. Routes call these after commit.
import { rooms, type EventName, type EventPayload } from '@nexusguild/shared/events';
import { channelAudience, viewerRooms } from '@nexusguild/shared/audience';
import type { GuardedChannel } from '@nexusguild/shared/repos/access';
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

/**
 * Tells those who may view each channel that voice states there ended, and takes the users'
 * sockets out of those voice rooms.
 */
export async function announceVoiceEnded({ sql, publisher }: Pick<ApiDeps, 'sql' | 'publisher'>, states: OwnedVoiceState[]): Promise<void> {
  for (const s of states) {
    const to = await channelAudience(sql, s.serverId, s.channelId);
    if (to.length) publisher.emit(to, 'voice_state_update', voiceUpdate(s, false));
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
      if (ended) await announceVoiceEnded({ sql, publisher }, [ended]);
      publisher.leaveRooms(userId, serverRooms(serverId, await serversRepo(sql).channelIds(serverId)));
    },

    /** A server or some of its channels were deleted: voice states there end. */
    async voiceGone(serverId: string, channelIds?: string[]): Promise<void> {
      const ended = channelIds
        ? (await Promise.all(channelIds.map((id) => voice.clear(serverId, id)))).flat()
        : await voice.clear(serverId);
      await announceVoiceEnded({ sql, publisher }, ended);
    },

    /**
     * An event that shows a channel (its name, topic, a message's notification): only to those
     * who may view it (shared/audience.ts), so a private channel's name never reaches the others.
     * `everyone`: the @everyone permissions when the caller's grant already holds them.
     */
    async toViewers<E extends EventName>(channel: GuardedChannel, event: E, payload: EventPayload<E>, everyone?: bigint): Promise<void> {
      const to = await viewerRooms(sql, channel, everyone);
      if (to.length) publisher.emit(to, event, payload);
    },
  };
}
