// Owns who may hear of a channel: the rooms an event that shows a channel (its name, its messages'
// notifications, who is in it by voice) may go to. The API's publisher and the gateway's voice
// announcements both ask here, so a private channel leaks to no one by either path.
import { needsThreadMembership } from './authorize.ts';
import type { Db } from './db/index.ts';
import { rooms } from './events.ts';
import { Flags, channelPermissions, has } from './permissions.ts';
import { accessRepo, type GuardedChannel } from './repos/access.ts';

/**
 * The server room when every member may view `channel`; else the personal rooms of the members
 * who may (one query for every member's roles), so a private channel reaches no one else. A
 * private thread's viewers are its parent's who are its members or manage threads. `everyone`: the
 * @everyone role's permissions when the caller already read them (a send's grant), saving a query.
 */
export async function viewerRooms(sql: Db, channel: GuardedChannel, everyone?: bigint): Promise<string[]> {
  const serverId = channel.server_id;
  const access = accessRepo(sql);
  const privateThread = channel.type === 'private_thread';
  everyone ??= (await access.everyone(serverId)) ?? undefined;
  if (everyone === undefined) return []; // the server is gone meanwhile
  const open = !privateThread && has(everyone, Flags.VIEW_CHANNEL) && channel.overrides.every((o) => !(o.deny & Flags.VIEW_CHANNEL));
  if (open) return [rooms.server(serverId)];
  const threadMembers = privateThread ? await access.channelMemberIds(channel.id) : null;
  const members = (await access.members(serverId))?.members.values() ?? [];
  return [...members]
    .filter((m) => {
      const permissions = channelPermissions(m, serverId, channel.overrides);
      if (!has(permissions, Flags.VIEW_CHANNEL)) return false;
      return !needsThreadMembership(channel.type, permissions) || threadMembers?.has(m.userId) === true;
    })
    .map((m) => rooms.user(m.userId));
}

/** The rooms for news of channel `channelId` (a deleted channel's: its server's room). */
export async function channelAudience(sql: Db, serverId: string, channelId: string): Promise<string[]> {
  const channel = await accessRepo(sql).channel(channelId);
  return channel ? viewerRooms(sql, channel) : [rooms.server(serverId)];
}

/** The ids of `serverId`'s channels that `userId` may view (empty for a non-member). */
export async function visibleChannelIds(sql: Db, serverId: string, userId: string): Promise<Set<string>> {
  const access = accessRepo(sql);
  const [found, channels] = await Promise.all([access.members(serverId, [userId]), access.channels(serverId)]);
  const member = found?.members.get(userId);
  if (!member) return new Set();
  return new Set(channels.filter((c) => has(channelPermissions(member, serverId, c.overrides), Flags.VIEW_CHANNEL)).map((c) => c.id));
}
