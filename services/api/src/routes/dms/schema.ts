import { Type } from '@fastify/type-provider-typebox';
import { Id, Message, Timestamp, errors } from '../../schemas.ts';
import * as messages from '../messages/schema.ts';
import * as reactions from '../reactions/schema.ts';

const tags = ['dms'];

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Status = Type.Union([Type.Literal('online'), Type.Literal('offline')]);

/** Request bounds on a group's member list; the 2–10 rule is checked after deduplication. */
const MAX_MEMBER_IDS = 100;
export const MAX_GROUP_NAME = 100;

const conversationFields = {
  id: Id,
  last_message: Type.String(),
  last_message_at: Timestamp,
  created_at: Timestamp,
};

export const DmConversation = Type.Object({
  ...conversationFields,
  type: Type.Literal('dm'),
  partner_id: Nullable(Id),
  partner_username: Nullable(Type.String()),
  partner_avatar: Nullable(Type.String()),
  partner_status: Status,
  user1_id: Id,
  user2_id: Id,
});

export const GroupDm = Type.Object({
  ...conversationFields,
  type: Type.Literal('group'),
  name: Nullable(Type.String()),
  avatar: Nullable(Type.String()),
  owner_id: Nullable(Id),
  members: Type.Array(Type.Object({ id: Id, username: Type.String(), avatar: Nullable(Type.String()), status: Status })),
});

export const Conversation = Type.Union([DmConversation, GroupDm]);

/** The Message Object plus the DM names (dm_id = channel_id, sender_id = user_id) and the conversation's type. */
export const DmMessage = Type.Object({
  ...Message.properties,
  dm_id: Id,
  sender_id: Nullable(Id),
  type: Type.Union([Type.Literal('dm'), Type.Literal('group')]),
});

const DmParams = Type.Object({ dmId: Id });
const DmMessageParams = Type.Object({ dmId: Id, msgId: Id });

export const list = { tags, response: { 200: Type.Array(Conversation), ...errors(401) } };
export const listGroups = { tags, response: { 200: Type.Array(GroupDm), ...errors(401) } };

/** `recipientId` (the guide) or `userId` (the original); either may be missing, which is a 400 the route words. */
export const open = {
  tags,
  body: Type.Object({ recipientId: Type.Optional(Id), userId: Type.Optional(Id) }),
  response: { 200: DmConversation, 201: DmConversation, ...errors(400, 401, 404) },
};

/** `memberIds` (the guide) or `userIds` (the original). */
export const createGroup = {
  tags,
  body: Type.Object({
    name: Type.Optional(Nullable(Type.String({ maxLength: MAX_GROUP_NAME * 2 }))),
    memberIds: Type.Optional(Type.Array(Id, { maxItems: MAX_MEMBER_IDS })),
    userIds: Type.Optional(Type.Array(Id, { maxItems: MAX_MEMBER_IDS })),
  }),
  response: { 201: GroupDm, ...errors(400, 401) },
};

export const history = {
  tags,
  params: DmParams,
  querystring: messages.history.querystring,
  response: { 200: Type.Array(DmMessage), ...errors(400, 401, 403) },
};

/** JSON for text only, or multipart/form-data (content, replyTo, files in file/files); the route reads multipart itself. */
export const send = {
  tags,
  params: DmParams,
  body: messages.send.body,
  response: { 201: DmMessage, ...errors(400, 401, 403, 413, 415) },
};

export const edit = {
  tags,
  params: DmMessageParams,
  body: messages.edit.body,
  response: { 200: DmMessage, ...errors(400, 401, 403, 404) },
};

export const remove = { tags, params: DmMessageParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

// Reactions on a DM's messages (notes §3.7): the channel routes' shapes under the DM's path.
const EmojiBody = reactions.add.body;

export const listReactions = { tags, params: DmMessageParams, response: { 200: Type.Array(reactions.Reaction), ...errors(400, 401, 403, 404) } };
export const addReaction = { tags, params: DmMessageParams, body: EmojiBody, response: { 201: reactions.Reaction, ...errors(400, 401, 403, 404) } };
export const removeReaction = {
  tags,
  params: Type.Object({ dmId: Id, msgId: Id, emoji: reactions.remove.params.properties.emoji }),
  response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
};
export const removeReactionByBody = { tags, params: DmMessageParams, body: EmojiBody, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };
