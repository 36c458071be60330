// Reactions on server-channel messages: the per-emoji aggregate, add your reaction, remove it
// (the emoji rules and the add itself are shared with DM reactions, routes/dms).
// Every change is one transaction, then `reaction_updated` with the whole aggregate goes to the
// channel's room.
import { rooms } from '@nexusguild/shared/events';
import { Flags } from '@nexusguild/shared/permissions';
import { emojisRepo } from '@nexusguild/shared/repos/emojis';
import { reactionsRepo } from '@nexusguild/shared/repos/reactions';
import type { Sql } from '@nexusguild/shared/db/index';
import { isId } from '@nexusguild/shared/ids';
import type { App, ApiDeps } from '../../app.ts';
import { badRequest, notFound } from '../../errors.ts';
import { demand, guards } from '../../guards.ts';
import type { ReactionAggregate } from '@nexusguild/shared/wire';
import * as schema from './schema.ts';

const CUSTOM = /^custom:([0-9]{1,20}):([A-Za-z0-9_]{2,32})$/;
/** No whitespace, control, separator or unassigned/private-use characters (ZWJ and variation selectors are fine). */
const FORBIDDEN = /[\s\p{Cc}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u;
/** A unicode emoji holds at least one pictograph, regional indicator (flags) or keycap mark. */
const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]/u;

type Emoji = { kind: 'unicode'; value: string } | { kind: 'custom'; value: string; serverId: string; name: string };

/**
 * What a client may react with: a unicode emoji (bounded, no whitespace or controls, at least one
 * pictograph), or `custom:<serverId>:<name>` for a server's custom emoji. Anything else is a 400.
 */
export function parseEmoji(raw: string | undefined): Emoji {
  const value = raw?.trim() ?? '';
  if (!value) throw badRequest('Emoji is required', [{ field: 'emoji', message: 'is required' }]);
  const custom = CUSTOM.exec(value);
  if (custom && isId(custom[1])) return { kind: 'custom', value, serverId: custom[1], name: custom[2]! };
  if (value.length > schema.EMOJI_MAX || FORBIDDEN.test(value) || !PICTOGRAPH.test(value) || value.startsWith('custom:')) {
    throw badRequest('emoji must be a unicode emoji or custom:<serverId>:<name>', [{ field: 'emoji', message: 'is not an emoji' }]);
  }
  return { kind: 'unicode', value };
}

/**
 * Adds `userId`'s reaction in one transaction, for channel and DM messages alike: a custom emoji
 * must exist (any server's, as with Discord's shared emoji), a duplicate is a 400 (notes G13), a
 * new emoji on the message counts against the cap and first passes `demandNew` (which throws to
 * refuse). 404 when the message is gone meanwhile.
 */
export async function addReaction(sql: Sql, messageId: string, emoji: Emoji, userId: string, demandNew?: () => void): Promise<void> {
  if (emoji.kind === 'custom' && !(await emojisRepo(sql).exists(emoji.serverId, emoji.name))) {
    throw badRequest('Unknown custom emoji', [{ field: 'emoji', message: 'does not exist' }]);
  }
  await sql.begin(async (tx) => {
    const repo = reactionsRepo(tx);
    const state = await repo.lockForAdd(messageId, emoji.value, userId);
    if (!state) throw notFound('Message'); // deleted meanwhile
    if (state.mine) throw badRequest('You already reacted with this emoji');
    if (!state.present) {
      demandNew?.();
      if (state.distinct >= schema.MAX_DISTINCT) throw badRequest(`A message can have at most ${schema.MAX_DISTINCT} different reactions`);
    }
    await repo.add(messageId, emoji.value, userId);
  });
}

/**
 * The added emoji's entry in the aggregate read after the add. It may be gone already if the
 * user removed it at once; the list is the truth, so that reads as a count of "0".
 */
export function addedOf(list: ReactionAggregate[], emoji: Emoji): ReactionAggregate {
  return list.find((r) => r.emoji === emoji.value) ?? { emoji: emoji.value, count: '0', users: [] };
}

/** The emoji of a removal (path or body), as stored: trimmed, required. */
export function removalEmoji(raw: string | undefined): string {
  const emoji = raw?.trim();
  if (!emoji) throw badRequest('Emoji is required', [{ field: 'emoji', message: 'is required' }]);
  return emoji;
}

export async function reactionRoutes(app: App, { sql, publisher }: ApiDeps) {
  const guard = guards(sql);
  const reactions = reactionsRepo(sql);

  /** After commit: everyone in the channel sees the new aggregate. */
  async function announce(messageId: string, channelId: string) {
    const list = await reactions.list(messageId);
    publisher.emit(rooms.channel(channelId), 'reaction_updated', { messageId, channelId, reactions: list });
    return list;
  }

  app.get('/api/reactions/:messageId', { schema: schema.list }, async (request) => {
    const { message: target } = await guard.message(request.params.messageId, request.user.id, Flags.READ_MESSAGE_HISTORY);
    return reactions.list(target.id);
  });

  app.post('/api/reactions/:messageId', { schema: schema.add }, async (request, reply) => {
    const emoji = parseEmoji(request.body.emoji);
    const { message: target, grant } = await guard.message(request.params.messageId, request.user.id, Flags.READ_MESSAGE_HISTORY);
    // As in Discord: joining a reaction already there needs no ADD_REACTIONS, a new one does.
    await addReaction(sql, target.id, emoji, request.user.id, () => demand(grant.permissions, Flags.ADD_REACTIONS));
    return reply.status(201).send(addedOf(await announce(target.id, target.channel_id), emoji));
  });

  async function remove(messageId: string, rawEmoji: string | undefined, userId: string) {
    const emoji = removalEmoji(rawEmoji);
    const { message: target } = await guard.message(messageId, userId); // your own: viewing the channel is enough
    const removed = await reactions.remove(target.id, emoji, userId);
    if (!removed) throw notFound('Reaction');
    await announce(target.id, target.channel_id);
  }

  app.delete('/api/reactions/:messageId/:emoji', { schema: schema.remove }, async (request, reply) => {
    await remove(request.params.messageId, request.params.emoji, request.user.id);
    return reply.status(204).send(null);
  });

  app.delete('/api/reactions/:messageId', { schema: schema.removeByBody }, async (request, reply) => {
    await remove(request.params.messageId, request.body.emoji, request.user.id);
    return reply.status(204).send(null);
  });
}
