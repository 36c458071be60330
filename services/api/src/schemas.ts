// Schemas shared by many routes: the error body, ids and the wire objects. Response schemas
// drive serialization, so a field not listed here can never reach a client.
import { Type } from '@fastify/type-provider-typebox';
import { ID_PATTERN } from '@nexusguild/shared/ids';
import { ALL_PERMISSIONS } from '@nexusguild/shared/permissions';
import { badRequest } from './errors.ts';

export const Id = Type.String({ pattern: ID_PATTERN, description: 'snowflake id (decimal string)' });
export const Timestamp = Type.String({ format: 'date-time' });

export const ErrorBody = Type.Object(
  {
    error: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Error' },
);
export const ErrorRef = Type.Ref('Error');

export const MessageBody = Type.Object({ message: Type.String() });

export const User = Type.Object(
  {
    id: Id,
    username: Type.String(),
    email: Type.String(),
    avatar: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    custom_status: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { $id: 'User' },
);
export const UserRef = Type.Ref('User');

/** Error replies a route may give, for the OpenAPI document. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, ErrorRef]));
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
/** A permission bitmask on the wire: a decimal string. */
export const PermissionString = Type.String({ pattern: '^[0-9]{1,16}$' });
/** A permission bitmask as input: a decimal string or a JSON integer. */
export const PermissionInput = Type.Union([PermissionString, Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })]);

/** A PermissionInput as a mask; bits outside the flag table are a 400 naming `field`, never dropped. */
export function permissionMask(value: string | number, field: string): bigint {
  const mask = BigInt(value);
  if (mask & ~ALL_PERMISSIONS) {
    throw badRequest(`${field} contains unknown permission bits`, [{ field, message: 'has bits outside the permission table' }]);
  }
  return mask;
}

export const Server = Type.Object({
  id: Id,
  name: Type.String(),
  icon: Nullable(Type.String()),
  owner_id: Id,
  created_at: Timestamp,
  joined_at: Type.Optional(Timestamp),
});

// Spelled out: a mapped array would make the static type `never` (TypeBox unions need a tuple).
export const ChannelTypeName = Type.Union([
  Type.Literal('text'), Type.Literal('voice'), Type.Literal('category'), Type.Literal('announcement'),
  Type.Literal('forum'), Type.Literal('media'), Type.Literal('thread'), Type.Literal('private_thread'),
]);

const channelFields = {
  id: Id,
  server_id: Id,
  serverId: Id,
  name: Type.String(),
  type: ChannelTypeName,
  type_int: Type.Integer(),
  topic: Nullable(Type.String()),
  position: Type.Integer(),
  parent_id: Nullable(Id),
  category_id: Nullable(Id),
  parent_message_id: Nullable(Id),
  is_private: Type.Boolean(),
  created_at: Timestamp,
};
export const Channel = Type.Object(channelFields);
export const ChannelListItem = Type.Object({
  ...channelFields,
  unread_count: Type.Integer(),
  mention_count: Type.Integer(),
  my_permissions: PermissionString,
});

export const Role = Type.Object({
  id: Id,
  server_id: Id,
  serverId: Id,
  name: Type.String(),
  color: Type.String(),
  permissions: PermissionString,
  position: Type.Integer(),
  mentionable: Type.Boolean(),
  hoist: Type.Boolean(),
  created_at: Timestamp,
});

export const Member = Type.Object({
  id: Id,
  username: Type.String(),
  avatar: Nullable(Type.String()),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  custom_status: Nullable(Type.String()),
  nickname: Nullable(Type.String()),
  joined_at: Timestamp,
  role_color: Nullable(Type.String()),
  hoist_role_name: Nullable(Type.String()),
  hoist_role_position: Nullable(Type.Integer()),
  roles: Type.Array(Id),
});

export const Invite = Type.Object({
  code: Type.String(),
  server_id: Id,
  inviter_id: Nullable(Id),
  inviter_username: Nullable(Type.String()),
  uses: Type.Integer(),
  max_uses: Type.Integer(),
  expires_at: Nullable(Timestamp),
  created_at: Timestamp,
});

export const Ban = Type.Object({
  server_id: Id,
  user_id: Id,
  username: Type.String(),
  avatar: Nullable(Type.String()),
  banned_by: Nullable(Id),
  reason: Nullable(Type.String()),
  created_at: Timestamp,
});

export const Override = Type.Object({
  channel_id: Id,
  target_id: Id,
  target_type: Type.Union([Type.Literal('role'), Type.Literal('member')]),
  allow: PermissionString,
  deny: PermissionString,
});

/** Path params of server-scoped routes. */
export const ServerParams = Type.Object({ id: Id });

export const Attachment = Type.Object({
  id: Id,
  url: Type.String(),
  filename: Type.String(),
  size: Type.Integer(),
  content_type: Type.String(),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  /** An image's thumbnail (webp, at most 400 px), once the worker has made it. */
  thumbnail_url: Type.Optional(Type.String()),
});

const messageFields = {
  id: Id,
  channel_id: Id,
  user_id: Nullable(Id),
  username: Nullable(Type.String()),
  /** The author's server nickname. */
  display_name: Nullable(Type.String()),
  avatar: Nullable(Type.String()),
  content: Type.String(),
  attachments: Type.Array(Attachment),
  created_at: Timestamp,
  /** Both null until edited, then the same instant. */
  updated_at: Nullable(Timestamp),
  edited_at: Nullable(Timestamp),
  is_pinned: Type.Boolean(),
  reply_to_id: Nullable(Id),
  reply_to_content: Nullable(Type.String()),
  reply_to_username: Nullable(Type.String()),
  thread_channel_id: Nullable(Id),
  thread_reply_count: Type.Integer(),
};
export const Message = Type.Object(messageFields);
export const PinnedMessage = Type.Object({
  ...messageFields,
  pinned_at: Timestamp,
  pinned_by: Nullable(Id),
  pinned_by_username: Nullable(Type.String()),
});
