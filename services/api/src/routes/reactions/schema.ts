import { Type } from '@fastify/type-provider-typebox';
import { Id, errors } from '../../schemas.ts';

const tags = ['reactions'];

/** Room for `custom:<20-digit id>:<32-char name>` and long ZWJ sequences; the column holds 100. */
export const EMOJI_MAX = 64;
/** Distinct emoji per message (Discord's limit). */
export const MAX_DISTINCT = 20;

export const Reaction = Type.Object({
  emoji: Type.String(),
  count: Type.String({ description: 'decimal string' }),
  users: Type.Array(Type.Object({ userId: Id, username: Type.String() })),
});

const MessageParams = Type.Object({ messageId: Id });
// Checked in the route (trimmed, then the emoji rules), so a blank one gets the spec's message.
const EmojiBody = Type.Object({ emoji: Type.Optional(Type.String({ maxLength: 256 })) });

export const list = { tags, params: MessageParams, response: { 200: Type.Array(Reaction), ...errors(400, 401, 403, 404) } };

export const add = {
  tags,
  params: MessageParams,
  body: EmojiBody,
  response: { 201: Reaction, ...errors(400, 401, 403, 404) },
};

export const remove = {
  tags,
  params: Type.Object({ messageId: Id, emoji: Type.String({ maxLength: 256, description: 'URL-encoded' }) }),
  response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
};

/** G13's fallback: the emoji in a JSON body instead of the path. */
export const removeByBody = {
  tags,
  params: MessageParams,
  body: EmojiBody,
  response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
};
