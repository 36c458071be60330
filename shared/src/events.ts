// The socket wire contract: room names and every event with its payload, typed once and used by
// the API's publisher, the gateway and the tests. Adding an event means adding it here first.
import type {
  ChannelObject, DmConversationObject, DmMessageObject, GroupDmObject, MessageObject, ReactionAggregate, RoleObject, ServerObject, VoiceState,
} from './wire.ts';

export const rooms = {
  user: (userId: string) => `user:${userId}`,
  server: (serverId: string) => `server:${serverId}`,
  channel: (channelId: string) => `channel:${channelId}`,
  dm: (dmId: string) => `dm:${dmId}`,
  voice: (channelId: string) => `voice:${channelId}`,
  /** Every socket opened with one login session, so logout can close exactly those. */
  session: (sid: string) => `session:${sid}`,
};

type Ids<K extends string> = { [P in K]: string };

/** Server → client. */
export interface ServerToClientEvents {
  // server room
  presence_update: (p: { userId: string; username: string; status: 'online' | 'offline' }) => void;
  channel_notification: (p: { channelId: string; serverId: string; messageId: string; username: string; content: string }) => void;
  role_created: (p: RoleObject) => void;
  role_updated: (p: RoleObject) => void;
  role_deleted: (p: Ids<'roleId' | 'serverId'>) => void;
  member_role_updated: (p: { userId: string; serverId: string; roleIds: string[] }) => void;
  member_banned: (p: Ids<'userId' | 'serverId'>) => void;
  member_updated: (p: { serverId: string; userId: string; nickname: string | null }) => void;
  server_emojis_updated: (p: Ids<'serverId'>) => void;
  channel_created: (p: ChannelObject) => void;
  channel_updated: (p: ChannelObject) => void;
  channel_deleted: (p: Ids<'channelId' | 'serverId'>) => void;
  channels_reordered: (p: Ids<'serverId'>) => void;
  permissions_updated: (p: Ids<'serverId' | 'channelId'>) => void;
  thread_created: (p: { serverId: string; parentChannelId: string; messageId: string | null; thread: ChannelObject }) => void;
  voice_state_update: (p: Omit<VoiceState, 'serverId'> & { joined: boolean }) => void;
  voice_states: (p: { serverId: string; states: VoiceState[] }) => void;
  user_joined: (p: { userId: string; username: string; serverId: string }) => void;
  user_left: (p: Ids<'userId' | 'serverId'>) => void;
  server_updated: (p: ServerObject) => void;
  server_deleted: (p: Ids<'serverId'>) => void;
  custom_status_update: (p: { userId: string; custom_status: string | null }) => void;
  // channel room
  message_created: (p: MessageObject) => void;
  message_updated: (p: MessageObject) => void;
  message_deleted: (p: Ids<'messageId' | 'channelId'>) => void;
  message_pinned: (p: Ids<'messageId' | 'channelId'>) => void;
  message_unpinned: (p: Ids<'messageId' | 'channelId'>) => void;
  reaction_updated: (p: { messageId: string; channelId: string; reactions: ReactionAggregate[] }) => void;
  user_typing: (p: { channelId: string; userId: string; username: string }) => void;
  user_stop_typing: (p: { channelId: string; userId: string; username: string }) => void;
  user_voice_state: (p: { userId: string; muted: boolean; deafened: boolean }) => void;
  // personal room
  server_joined: (p: Ids<'serverId'>) => void;
  channel_read: (p: Ids<'channelId'>) => void;
  dm_created: (p: DmConversationObject) => void;
  group_dm_created: (p: GroupDmObject) => void;
  dm_message_created: (p: DmMessageObject) => void;
  dm_message_updated: (p: DmMessageObject) => void;
  dm_message_deleted: (p: { messageId: string; dmId: string; message_id: string; dm_id: string }) => void;
  dm_reaction_added: (p: { messageId: string; emoji: string; userId: string; dmId: string; reactions: ReactionAggregate[] }) => void;
  dm_reaction_removed: (p: { messageId: string; emoji: string; userId: string; dmId: string; reactions: ReactionAggregate[] }) => void;
  dm_typing: (p: { dmId: string; userId: string; username: string }) => void;
  dm_stop_typing: (p: { dmId: string; userId: string }) => void;
  error_event: (p: { event: string; error: string }) => void;
}

/** What a client may pass as an id: a bare string or an object carrying it. */
export type IdArg = string | { id?: string; serverId?: string; channelId?: string; dmId?: string };
export type Ack = (res: { ok: true } | { ok: false; error: string }) => void;

/** Client → server. */
export interface ClientToServerEvents {
  join_server: (arg: IdArg, ack?: Ack) => void;
  leave_server: (arg: IdArg, ack?: Ack) => void;
  join_channel: (arg: IdArg, ack?: Ack) => void;
  leave_channel: (arg: IdArg, ack?: Ack) => void;
  start_typing: (arg: IdArg) => void;
  stop_typing: (arg: IdArg) => void;
  join_voice: (arg: { channelId: string; serverId: string }, ack?: Ack) => void;
  leave_voice: (arg: { channelId: string; serverId: string }, ack?: Ack) => void;
  voice_state_change: (arg: { muted?: boolean; deafened?: boolean }, ack?: Ack) => void;
  join_dm: (arg: IdArg, ack?: Ack) => void;
  leave_dm: (arg: IdArg, ack?: Ack) => void;
  dm_typing: (arg: IdArg) => void;
  dm_stop_typing: (arg: IdArg) => void;
}

/** Gateway ↔ gateway (and API → gateways through the emitter). */
export const RECHECK_ACCESS = 'recheck_access';
export interface InterServerEvents {
  [RECHECK_ACCESS]: (serverId: string) => void;
}

/** What the gateway keeps on each authenticated socket. */
export interface SocketData {
  userId: string;
  username: string;
  sid: string;
}

export type EventName = keyof ServerToClientEvents;
export type EventPayload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];
