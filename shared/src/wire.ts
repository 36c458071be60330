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
}

export interface ReactionAggregate {
  emoji: string;
  count: string;
  users: { userId: string; username: string }[];
}

export interface VoiceState {
  userId: string;
  username: string;
  channelId: string;
  serverId: string;
  muted: boolean;
  deafened: boolean;
}

/** DM and group-DM messages: the channel message's core under the names DM clients read. */
export interface DmMessageObject
  extends Pick<MessageObject, 'id' | 'user_id' | 'username' | 'avatar' | 'content' | 'attachments' | 'created_at' | 'updated_at' | 'edited_at'> {
  dm_id: string;
  sender_id: string | null;
  type: 'dm' | 'group';
}
