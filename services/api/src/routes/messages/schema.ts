import { Type } from '@fastify/type-provider-typebox';
import { Channel, Id, Message, PinnedMessage, errors } from '../../schemas.ts';

const tags = ['messages'];

const ChannelParams = Type.Object({ channelId: Id });
const MessageParams = Type.Object({ messageId: Id });

/** Page size bounds (decisions, Pagination): a limit outside them is clamped, not refused. */
export const PAGE = { min: 1, max: 100, default: 50 } as const;
/** Attachments per message (decisions, Limits). */
export const MAX_FILES = 10;
/** The form fields that may carry a message's files (notes §3.4: the guide's and the original's). */
export const FILE_FIELDS = ['file', 'files'] as const;

/** A bound on text before trimming; the 2000-character rule applies after it (and answers its own 400). */
const RawContent = Type.String({ maxLength: 8000 });

export const history = {
  tags,
  params: ChannelParams,
  querystring: Type.Object({
    limit: Type.Optional(Type.Integer({ default: PAGE.default })),
    before: Type.Optional(Id),
    after: Type.Optional(Id),
  }),
  response: { 200: Type.Array(Message), ...errors(400, 401, 403, 404) },
};

/**
 * Either multipart/form-data (fields `content`, `replyTo`/`replyToId`, files in `file`/`files`),
 * which the route reads itself (the body is then absent, hence the Null), or a JSON body for
 * text-only messages.
 */
export const send = {
  tags,
  params: ChannelParams,
  body: Type.Union([
    Type.Object({ content: Type.Optional(RawContent), replyTo: Type.Optional(Type.Union([Id, Type.Null()])), replyToId: Type.Optional(Type.Union([Id, Type.Null()])) }),
    Type.Null(),
  ], { description: 'JSON for text-only messages; multipart/form-data (content, replyTo, file/files) for attachments' }),
  response: { 201: Message, ...errors(400, 401, 403, 404, 413, 415) },
};

export const edit = {
  tags,
  params: MessageParams,
  body: Type.Object({ content: RawContent }),
  response: { 200: Message, ...errors(400, 401, 403, 404) },
};

export const remove = { tags, params: MessageParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

export const pin = { tags, params: MessageParams, response: { 200: Message, ...errors(400, 401, 403, 404) } };

export const pins = { tags, params: ChannelParams, response: { 200: Type.Array(PinnedMessage), ...errors(400, 401, 403, 404) } };

export const Thread = Type.Object({ ...Channel.properties, reply_count: Type.Integer() });

export const createThread = {
  tags,
  params: MessageParams,
  body: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 100 }),
    isPrivate: Type.Optional(Type.Boolean()),
    is_private: Type.Optional(Type.Boolean()),
  }),
  response: { 200: Thread, 201: Thread, ...errors(400, 401, 403, 404) },
};

export const threadMember = {
  tags,
  params: Type.Object({ channelId: Id, userId: Id }),
  response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
};

export const getThread = { tags, params: MessageParams, response: { 200: Thread, ...errors(400, 401, 403, 404) } };

/** Forum post titles are channel names. */
export const MAX_TITLE = 100;

export const createPost = {
  tags,
  params: ChannelParams,
  body: Type.Union([
    Type.Object({ title: Type.Optional(Type.String({ maxLength: 400 })), content: Type.Optional(RawContent) }),
    Type.Null(),
  ], { description: 'JSON {title, content}, or multipart/form-data with title, content and file/files' }),
  response: { 201: Type.Object({ ...Thread.properties, message: Message }), ...errors(400, 401, 403, 404, 413, 415) },
};

/** A forum's posts, most recently active first. */
export const posts = { tags, params: ChannelParams, response: { 200: Type.Array(Thread), ...errors(400, 401, 403, 404) } };
