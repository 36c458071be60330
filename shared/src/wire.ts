// The JSON shapes clients see (client guide + notes §10). Presenters in the API build exactly
// these; socket payloads reuse them, so REST and events never drift apart.

/** The caller's own account. Never carries the password hash. */
export interface UserObject {
  id: string;
  username: string;
  email: string;
  avatar: string | null;
  status: 'online' | 'offline';
  custom_status: string | null;
  created_at: string;
}

export interface AttachmentObject {
  id: string;
  url: string;
  filename: string;
  size: number;
  content_type: string;
  width?: number;
  height?: number;
  /** An image's thumbnail (webp, at most 400 px on its longer side), once the worker has made it. */
  thumbnail_url?: string;
}

export interface MessageObject {
  id: string;
  channel_id: string;
  user_id: string | null;
  username: string | null;
  display_name: string | null;
  avatar: string | null;
  content: string;
  attachments: AttachmentObject[];
  created_at: string;
  updated_at: string | null;
  edited_at: string | null;
  is_pinned: boolean;
  reply_to_id: string | null;
  reply_to_content: string | null;
  reply_to_username: string | null;
  thread_channel_id: string | null;
  thread_reply_count: number;
}

export type ChannelType =
  | 'text' | 'voice' | 'category' | 'announcement' | 'forum' | 'media' | 'thread' | 'private_thread';

/** The client guide's integer for each channel type. */
export const CHANNEL_TYPE_INT: Record<ChannelType, number> = {
  text: 0, voice: 2, category: 4, announcement: 5, thread: 11, private_thread: 12, forum: 15, media: 15,
};

export interface ChannelObject {
  id: string;
  server_id: string;
  name: string;
  type: ChannelType;
  type_int: number;
  topic: string | null;
  position: number;
  parent_id: string | null;
  category_id: string | null;
  parent_message_id: string | null;
  is_private: boolean;
  created_at: string;
  serverId: string;
}

/** A channel as the caller's channel list shows it. */
export interface ChannelListItem extends ChannelObject {
  unread_count: number;
  mention_count: number;
  /** Channel-level permissions, a decimal string. */
  my_permissions: string;
}

export interface RoleObject {
  id: string;
  server_id: string;
  serverId: string;
  name: string;
  color: string;
  permissions: string;
  position: number;
  mentionable: boolean;
  hoist: boolean;
  created_at: string;
}

export interface ServerObject {
  id: string;
  name: string;
  icon: string | null;
  owner_id: string;
  created_at: string;
  /** In the caller's server list only. */
  joined_at?: string;
}

export interface MemberObject {
  id: string;
  username: string;
  avatar: string | null;
  status: 'online' | 'offline';
  custom_status: string | null;
  nickname: string | null;
  joined_at: string;
  /** Color of the member's highest role other than @everyone. */
  role_color: string | null;
  hoist_role_name: string | null;
  hoist_role_position: number | null;
  /** Assigned role ids, without @everyone. */
  roles: string[];
}

export interface InviteObject {
  code: string;
  server_id: string;
  inviter_id: string | null;
  inviter_username: string | null;
  uses: number;
  max_uses: number;
  expires_at: string | null;
  created_at: string;
}

export interface BanObject {
  server_id: string;
  user_id: string;
  username: string;
  avatar: string | null;
  banned_by: string | null;
  reason: string | null;
  created_at: string;
}

export interface OverrideObject {
  channel_id: string;
  target_id: string;
  target_type: 'role' | 'member';
  allow: string;
  deny: string;
}

export interface ReactionAggregate {
  emoji: string;
  count: string;
  users: { userId: string; username: string }[];
}

/** A server's custom emoji; reactions name it `custom:<server_id>:<name>`. */
export interface EmojiObject {
  id: string;
  server_id: string;
  name: string;
  /** Relative, under /uploads/. */
  url: string;
  /** The stored file's name (the original's field, kept for compatibility). */
  filename: string;
  created_by: string | null;
  created_at: string;
}

export interface VoiceState {
  userId: string;
  username: string;
  channelId: string;
  serverId: string;
  muted: boolean;
  deafened: boolean;
}

/** A DM's or group DM's kind on the wire (the channel types are dm and group_dm). */
export type ConversationType = 'dm' | 'group';

/**
 * DM and group-DM messages: the full Message Object (one presenter, shared/messages.ts) plus the
 * names DM clients read: `dm_id` (= channel_id), `sender_id` (= user_id) and the conversation's type.
 */
export interface DmMessageObject extends MessageObject {
  dm_id: string;
  sender_id: string | null;
  type: ConversationType;
}

/** A participant of a conversation, with live presence. */
export interface ConversationMember {
  id: string;
  username: string;
  avatar: string | null;
  status: 'online' | 'offline';
}

/** What every conversation in `GET /api/dm` carries. */
interface ConversationBase {
  id: string;
  /** The text of the newest message; "" when there is none yet. */
  last_message: string;
  /** The newest message's time, or the conversation's creation without messages. */
  last_message_at: string;
  created_at: string;
}

/** A 1:1 conversation as one participant sees it (notes §3.7, §10); the partner is null once their account is gone. */
export interface DmConversationObject extends ConversationBase {
  type: 'dm';
  partner_id: string | null;
  partner_username: string | null;
  partner_avatar: string | null;
  partner_status: 'online' | 'offline';
  /** The pair, smaller id first (the original's POST reply carried them). */
  user1_id: string;
  user2_id: string;
}

/** A group DM (notes §3.7, §10): the same for every member. */
export interface GroupDmObject extends ConversationBase {
  type: 'group';
  name: string | null;
  avatar: string | null;
  owner_id: string | null;
  members: ConversationMember[];
}

export type ConversationObject = DmConversationObject | GroupDmObject;
