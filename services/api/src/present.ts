// Presenters: the only place database rows become the JSON of the client guide.
import type { ChannelRow } from '@nexusguild/shared/repos/access';
import type { ConversationRow } from '@nexusguild/shared/repos/dms';
import type { OverrideRow, ReadCounts } from '@nexusguild/shared/repos/channels';
import type { EmojiRow } from '@nexusguild/shared/repos/emojis';
import { uploadUrl } from '@nexusguild/shared/storage';
import type { RoleRow } from '@nexusguild/shared/repos/roles';
import type { BanRow, InviteRow, MemberRow, ServerRow } from '@nexusguild/shared/repos/servers';
import type { UserRow } from '@nexusguild/shared/repos/users';
import {
  CHANNEL_TYPE_INT, type BanObject, type ChannelListItem, type ChannelObject, type ChannelType, type ConversationObject, type DmConversationObject,
  type EmojiObject, type GroupDmObject, type InviteObject, type MemberObject, type OverrideObject,
  type RoleObject, type ServerObject, type UserObject,
} from '@nexusguild/shared/wire';

export function presentUser(row: UserRow, status: UserObject['status']): UserObject {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    avatar: row.avatar,
    status,
    custom_status: row.custom_status,
    created_at: row.created_at.toISOString(),
  };
}

export function presentServer(row: ServerRow): ServerObject {
  return {
    id: row.id,
    name: row.name,
    icon: row.icon,
    owner_id: row.owner_id,
    created_at: row.created_at.toISOString(),
    ...(row.joined_at ? { joined_at: row.joined_at.toISOString() } : {}),
  };
}

export function presentChannel(row: ChannelRow): ChannelObject {
  const type = row.type as ChannelType;
  return {
    id: row.id,
    server_id: row.server_id,
    serverId: row.server_id,
    name: row.name,
    type,
    type_int: CHANNEL_TYPE_INT[type],
    topic: row.topic,
    position: row.position,
    parent_id: row.parent_id,
    // A category is a channel's parent; a thread's parent is a channel, not a category.
    category_id: type === 'thread' || type === 'private_thread' ? null : row.parent_id,
    parent_message_id: row.parent_message_id,
    is_private: type === 'private_thread',
    created_at: row.created_at.toISOString(),
  };
}

export function presentRole(row: RoleRow): RoleObject {
  return {
    id: row.id,
    server_id: row.server_id,
    serverId: row.server_id,
    name: row.name,
    color: row.color,
    permissions: row.permissions,
    position: row.position,
    mentionable: row.mentionable,
    hoist: row.hoist,
    created_at: row.created_at.toISOString(),
  };
}

export function presentMember(row: MemberRow, status: MemberObject['status']): MemberObject {
  return {
    id: row.id,
    username: row.username,
    avatar: row.avatar,
    status,
    custom_status: row.custom_status,
    nickname: row.nickname,
    joined_at: row.joined_at.toISOString(),
    role_color: row.role_color,
    hoist_role_name: row.hoist_role_name,
    hoist_role_position: row.hoist_role_position,
    roles: row.roles,
  };
}

export function presentInvite(row: InviteRow): InviteObject {
  return {
    code: row.code,
    server_id: row.server_id,
    inviter_id: row.inviter_id,
    inviter_username: row.inviter_username,
    uses: row.uses,
    max_uses: row.max_uses,
    expires_at: row.expires_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

/** A channel in the caller's list: their channel-level permissions and their read counts (0 without a read state). */
export function presentChannelListItem(row: ChannelRow, permissions: bigint, counts: ReadCounts | undefined): ChannelListItem {
  return {
    ...presentChannel(row),
    unread_count: counts?.unread_count ?? 0,
    mention_count: counts?.mention_count ?? 0,
    my_permissions: permissions.toString(),
  };
}

export function presentOverride(row: OverrideRow): OverrideObject {
  return { channel_id: row.channel_id, target_id: row.target_id, target_type: row.target_type, allow: row.allow, deny: row.deny };
}

export function presentBan(row: BanRow): BanObject {
  return {
    server_id: row.server_id,
    user_id: row.user_id,
    username: row.username,
    avatar: row.avatar,
    banned_by: row.banned_by,
    reason: row.reason,
    created_at: row.created_at.toISOString(),
  };
}

export function presentEmoji(row: EmojiRow): EmojiObject {
  return {
    id: row.id,
    server_id: row.server_id,
    name: row.name,
    url: uploadUrl(row.storage_key),
    filename: row.storage_key.slice(row.storage_key.lastIndexOf('/') + 1),
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

type Online = ReadonlySet<string>;
const presenceOf = (online: Online, id: string): 'online' | 'offline' => (online.has(id) ? 'online' : 'offline');

function conversationBase(row: ConversationRow) {
  return {
    id: row.id,
    last_message: row.last_message ?? '',
    last_message_at: (row.last_message_at ?? row.created_at).toISOString(),
    created_at: row.created_at.toISOString(),
  };
}

/** A 1:1 DM as `viewerId` sees it: the other participant is the partner; `online` holds who has a live socket. */
export function presentDm(row: ConversationRow, viewerId: string, online: Online): DmConversationObject {
  const partner = (row.members ?? []).find((m) => m.id !== viewerId) ?? null; // gone once their account is deleted
  const [user1 = '', user2 = ''] = (row.dm_key ?? '').split(':');
  return {
    ...conversationBase(row),
    type: 'dm',
    partner_id: partner?.id ?? null,
    partner_username: partner?.username ?? null,
    partner_avatar: partner?.avatar ?? null,
    partner_status: partner ? presenceOf(online, partner.id) : 'offline',
    user1_id: user1,
    user2_id: user2,
  };
}

/** A group DM, the same for every member. */
export function presentGroupDm(row: ConversationRow, online: Online): GroupDmObject {
  return {
    ...conversationBase(row),
    type: 'group',
    name: row.name,
    avatar: row.icon,
    owner_id: row.owner_id,
    members: (row.members ?? []).map((m) => ({ id: m.id, username: m.username, avatar: m.avatar, status: presenceOf(online, m.id) })),
  };
}

/** Either kind of conversation, as `viewerId` sees it. */
export function presentConversation(row: ConversationRow, viewerId: string, online: Online): ConversationObject {
  return row.type === 'dm' ? presentDm(row, viewerId, online) : presentGroupDm(row, online);
}
