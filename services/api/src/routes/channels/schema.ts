import { Type } from '@fastify/type-provider-typebox';
import { Channel, ChannelListItem, Id, Override, PermissionInput, errors } from '../../schemas.ts';

const tags = ['channels'];
const Name = Type.String({ minLength: 1, maxLength: 100 });
const Topic = Type.Union([Type.String({ maxLength: 1024 }), Type.Null()]);
/** Far below int4's limit, so "last position + 1" can never overflow. */
const Position = Type.Integer({ minimum: 0, maximum: 100_000 });
/** A category id, or null for none. */
const Parent = Type.Optional(Type.Union([Id, Type.Null()]));
/** The spellings clients use for a channel's category (notes §3.3, decisions Model). */
export const PARENT_ALIASES = ['parent_id', 'parentId', 'categoryId', 'category_id'] as const;
const parentFields = Object.fromEntries(PARENT_ALIASES.map((k) => [k, Parent])) as Record<(typeof PARENT_ALIASES)[number], typeof Parent>;

// One param name per position is not required by find-my-way 9 (it keys parametric children by
// position), so each route names its id for what it is.
const ServerParams = Type.Object({ serverId: Id });
const ChannelParams = Type.Object({ channelId: Id });
const OverrideParams = Type.Object({ channelId: Id, targetId: Id });

export const list = { tags, params: ServerParams, response: { 200: Type.Array(ChannelListItem), ...errors(400, 401, 403, 404) } };

export const create = {
  tags,
  params: ServerParams,
  body: Type.Object({
    name: Name,
    /** A type name (text, voice, category, announcement, forum, media) or its integer (0, 2, 4, 5, 15). */
    type: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Integer()])),
    topic: Type.Optional(Topic),
    ...parentFields,
  }),
  response: { 201: Channel, ...errors(400, 401, 403, 404) },
};

export const update = {
  tags,
  params: ChannelParams,
  body: Type.Object({ name: Type.Optional(Name), topic: Type.Optional(Topic), position: Type.Optional(Position), ...parentFields }),
  response: { 200: Channel, ...errors(400, 401, 403, 404) },
};

export const remove = { tags, params: ChannelParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

/** Channels per server, categories included (Discord's limit); also bounds a reorder's body. */
export const MAX_CHANNELS = 500;

/** One entry of a reorder; a `{channels, categories}` body is flattened into these before validation. */
export const ReorderItem = Type.Object({ id: Id, position: Position, ...parentFields });

export const reorder = {
  tags,
  params: ServerParams,
  body: Type.Array(ReorderItem, {
    maxItems: MAX_CHANNELS,
    description: 'Also accepted: {channels: [{id, position, categoryId?}], categories: [{id, position}]}',
  }),
  response: { 200: Type.Array(ChannelListItem), ...errors(400, 401, 403, 404) },
};

export const overrides = { tags, params: ChannelParams, response: { 200: Type.Array(Override), ...errors(400, 401, 403, 404) } };

export const override = { tags, params: OverrideParams, response: { 200: Override, ...errors(400, 401, 403, 404) } };

export const putOverride = {
  tags,
  params: OverrideParams,
  body: Type.Object({
    target_type: Type.Union([Type.Literal('role'), Type.Literal('member')]),
    allow: Type.Optional(PermissionInput),
    deny: Type.Optional(PermissionInput),
  }),
  response: { 200: Override, ...errors(400, 401, 403, 404) },
};

export const deleteOverride = { tags, params: OverrideParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

export const markRead = {
  tags,
  params: ChannelParams,
  /** No body: up to the newest message. `messageId` (of this channel): up to that one. */
  body: Type.Object({ messageId: Type.Optional(Id) }),
  response: { 200: Type.Object({ ok: Type.Literal(true), last_read_id: Id }), ...errors(400, 401, 403, 404) },
};
