// Owns the socket side effects of guild changes that involve more than one emit: who must leave
// which rooms when a member goes or a server disappears. Routes call these after commit.
import { rooms } from '@nexusguild/shared/events';
import type { Db } from '@nexusguild/shared/db/index';
import type { Publisher } from '@nexusguild/shared/publisher';
import { serversRepo } from '@nexusguild/shared/repos/servers';

/** Every room that belongs to a server: its own, and each channel's text and voice rooms. */
export function serverRooms(serverId: string, channelIds: string[]): string[] {
  return [rooms.server(serverId), ...channelIds.flatMap((id) => [rooms.channel(id), rooms.voice(id)])];
}

export function guildPublishing(sql: Db, publisher: Publisher) {
  return {
    /** A member left, was kicked or banned: tell the server, then pull their sockets out of its rooms. */
    async memberGone(serverId: string, userId: string): Promise<void> {
      publisher.emit(rooms.server(serverId), 'user_left', { userId, serverId });
      publisher.leaveRooms(userId, serverRooms(serverId, await serversRepo(sql).channelIds(serverId)));
    },
  };
}
