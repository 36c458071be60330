// Direct messages and group DMs (notes §3.7, G4): the caller's conversations, opening a 1:1 DM,
// creating a group, and the messages of either kind (and their reactions) under the same
// /api/dm/:dmId routes. A conversation is a channel without a server; its messages go through the
// same composer, repo and presenter as a server channel's (compose.ts, repos/messages.ts), and
// their events go to each participant's personal room (shared/message-events.ts).
//
// Access rule: anyone who is not a participant gets 403 "Access denied", whether the conversation
// exists or not (notes §3.7), so ids cannot be probed. Inside a conversation, a message that is
// not there or not the caller's is a 404 "Message not found or not yours". DMs keep no unread
// counts on the server (notes §5): nothing is enqueued for them but attachment processing.
import { rooms } from '@nexusguild/shared/events';
import { conversationType, messageEvents, participantRooms } from '@nexusguild/shared/message-events';
import { presentDmMessage } from '@nexusguild/shared/messages';
import { presenceStore } from '@nexusguild/shared/presence';
import { MAX_GROUP_MEMBERS, dmsRepo, type Conversation, type ConversationRow } from '@nexusguild/shared/repos/dms';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import { reactionsRepo } from '@nexusguild/shared/repos/reactions';
import type { App, ApiDeps } from '../../app.ts';
import { clampLimit, checkedContent, messageComposer } from '../../compose.ts';
import { HttpError, badRequest, forbidden, notFound } from '../../errors.ts';
import { enqueueAfterCommit, removeObjects } from '../../jobs.ts';
import { presentConversation, presentDm, presentGroupDm } from '../../present.ts';
import { addReaction, addedOf, parseEmoji, removalEmoji } from '../reactions/routes.ts';
import { withUploads } from '../../uploads.ts';
import { limits } from '../../plugins/rate-limit.ts';
import * as schema from './schema.ts';

const notYours = () => new HttpError(404, 'Message not found or not yours');

export async function dmRoutes(app: App, deps: ApiDeps) {
  const { sql, ids, publisher, storage, jobs, redis, keys } = deps;
  const dms = dmsRepo(sql);
  const messages = messagesRepo(sql);
  const composer = messageComposer(deps);
  const events = messageEvents(sql, publisher);
  const presence = presenceStore(redis, keys);

  /** The conversation, if the caller takes part in it (403 otherwise, unknown ids included). */
  async function participantOf(dmId: string, userId: string): Promise<Conversation> {
    const conversation = await dms.conversation(dmId);
    if (!conversation || !conversation.participants.includes(userId)) throw forbidden('Access denied');
    return conversation;
  }

  /** A message of this conversation written by the caller (404 otherwise). */
  async function ownMessage(conversation: Conversation, messageId: string, userId: string) {
    const message = await messages.find(messageId);
    if (!message || message.channel_id !== conversation.id || message.author_id !== userId) throw notYours();
    return message;
  }

  /** A message of this conversation (404 otherwise). */
  async function messageIn(conversation: Conversation, messageId: string) {
    const message = await messages.find(messageId);
    if (!message || message.channel_id !== conversation.id) throw notFound('Message');
    return message;
  }

  /** Live presence of every member of `rows`, in one Redis round trip. */
  const onlineIn = (rows: ConversationRow[]) => presence.online([...new Set(rows.flatMap((r) => (r.members ?? []).map((m) => m.id)))]);

  /** One conversation as the list shows it (read after its transaction committed). */
  async function loadConversation(id: string, viewerId: string) {
    const [row] = await dms.list(viewerId, id);
    if (!row) throw forbidden('Access denied'); // cannot happen: the caller just became a participant
    return { row, online: await onlineIn([row]) };
  }

  app.get('/api/dm', { schema: schema.list }, async (request) => {
    const rows = await dms.list(request.user.id);
    const online = await onlineIn(rows);
    return rows.map((row) => presentConversation(row, request.user.id, online));
  });

  // G4: the original's group list, kept as an alias.
  app.get('/api/group-dm', { schema: schema.listGroups }, async (request) => {
    const rows = (await dms.list(request.user.id)).filter((r) => r.type === 'group_dm');
    const online = await onlineIn(rows);
    return rows.map((row) => presentGroupDm(row, online));
  });

  app.post('/api/dm', { schema: schema.open, config: { rateLimit: limits.openDm } }, async (request, reply) => {
    const me = request.user.id;
    const recipientId = request.body.recipientId ?? request.body.userId;
    if (!recipientId) throw badRequest('userId is required', [{ field: 'recipientId', message: 'is required' }]);
    if (recipientId === me) throw badRequest('Cannot DM yourself', [{ field: 'recipientId', message: 'is you' }]);
    const opened = await sql.begin(async (tx) => {
      const repo = dmsRepo(tx);
      if (!(await repo.lockUsers([recipientId])).has(recipientId)) throw notFound('User');
      return repo.openPair(ids.next(), me, recipientId);
    });
    const { row, online } = await loadConversation(opened.id, me);
    if (opened.created) {
      // The recipient learns of it now rather than at the first message (notes §3.7 [rec]).
      publisher.emit(rooms.user(recipientId), 'dm_created', presentDm(row, recipientId, online));
    }
    return reply.status(opened.created ? 201 : 200).send(presentDm(row, me, online));
  });

  app.post('/api/group-dm', { schema: schema.createGroup, config: { rateLimit: limits.createGroupDm } }, async (request, reply) => {
    const me = request.user.id;
    const { body } = request;
    const others = [...new Set(body.memberIds ?? body.userIds ?? [])].filter((id) => id !== me);
    if (!others.length) throw badRequest('At least 1 other user is required', [{ field: 'memberIds', message: 'names no other user' }]);
    if (others.length + 1 > MAX_GROUP_MEMBERS) {
      throw badRequest(`A group DM can have at most ${MAX_GROUP_MEMBERS} members`, [{ field: 'memberIds', message: `more than ${MAX_GROUP_MEMBERS - 1} other users` }]);
    }
    const name = body.name?.trim() || null;
    if (name && [...name].length > schema.MAX_GROUP_NAME) {
      throw badRequest(`Group name must be at most ${schema.MAX_GROUP_NAME} characters`, [{ field: 'name', message: 'is too long' }]);
    }
    const id = ids.next();
    await sql.begin(async (tx) => {
      const repo = dmsRepo(tx);
      if ((await repo.lockUsers(others)).size !== others.length) throw badRequest('One or more users not found', [{ field: 'memberIds', message: 'names an unknown user' }]);
      await repo.createGroup({ id, ownerId: me, name, memberIds: [me, ...others] });
    });
    const { row, online } = await loadConversation(id, me);
    const group = presentGroupDm(row, online);
    publisher.emit([me, ...others].map(rooms.user), 'group_dm_created', group);
    return reply.status(201).send(group);
  });

  app.get('/api/dm/:dmId/messages', { schema: schema.history }, async (request) => {
    const conversation = await participantOf(request.params.dmId, request.user.id);
    const { limit, before, after } = request.query;
    const page = await messages.page(conversation.id, { limit: clampLimit(limit), before, after });
    return page.map((m) => presentDmMessage(m, conversationType(conversation)));
  });

  app.post('/api/dm/:dmId/messages', { schema: schema.send }, async (request, reply) => {
    const conversation = await participantOf(request.params.dmId, request.user.id);
    const form = await composer.readForm(request, conversation.id);
    const id = await withUploads(storage, form.files, async () => {
      const input = composer.input(form);
      return composer.write(sql, { id: conversation.id, server_id: null }, request.user.id, input);
    });
    const message = await composer.loadOne(id);
    const dm = presentDmMessage(message, conversationType(conversation));
    publisher.emit(participantRooms(conversation), 'dm_message_created', dm);
    if (message.attachments.length) await enqueueAfterCommit(jobs, request.log, 'process-attachments', { messageId: message.id });
    return reply.status(201).send(dm);
  });

  app.patch('/api/dm/:dmId/messages/:msgId', { schema: schema.edit }, async (request) => {
    const conversation = await participantOf(request.params.dmId, request.user.id);
    const message = await ownMessage(conversation, request.params.msgId, request.user.id);
    const content = checkedContent(request.body.content, message.has_attachments);
    if (!(await messages.edit(message.id, { content, mentionEveryone: false, mentions: [] }))) throw notYours();
    const updated = await composer.loadOne(message.id);
    await events.updated(updated, { kind: 'conversation', conversation });
    return presentDmMessage(updated, conversationType(conversation));
  });

  app.delete('/api/dm/:dmId/messages/:msgId', { schema: schema.remove }, async (request, reply) => {
    const conversation = await participantOf(request.params.dmId, request.user.id);
    const message = await ownMessage(conversation, request.params.msgId, request.user.id);
    const removed = await sql.begin((tx) => messagesRepo(tx).remove(message.id));
    if (!removed) throw notYours();
    // Both spellings (notes §3.7 [rec]): the guide's camelCase and the original's snake_case.
    publisher.emit(participantRooms(conversation), 'dm_message_deleted', {
      messageId: message.id, dmId: conversation.id, message_id: message.id, dm_id: conversation.id,
    });
    await removeObjects(jobs, removed.keys, request.log);
    return reply.status(204).send(null);
  });

  // Reactions (notes §3.7): the channel rules (routes/reactions) without permissions; the aggregate
  // goes to every participant with who changed what (the union of the seed's and the original's payloads).

  async function reactionChanged(conversation: Conversation, messageId: string, emoji: string, userId: string, event: 'dm_reaction_added' | 'dm_reaction_removed') {
    const list = await reactionsRepo(sql).list(messageId);
    publisher.emit(participantRooms(conversation), event, { messageId, emoji, userId, dmId: conversation.id, reactions: list });
    return list;
  }

  app.get('/api/dm/:dmId/messages/:msgId/reactions', { schema: schema.listReactions }, async (request) => {
    const conversation = await participantOf(request.params.dmId, request.user.id);
    return reactionsRepo(sql).list((await messageIn(conversation, request.params.msgId)).id);
  });

  app.post('/api/dm/:dmId/messages/:msgId/reactions', { schema: schema.addReaction }, async (request, reply) => {
    const emoji = parseEmoji(request.body.emoji);
    const conversation = await participantOf(request.params.dmId, request.user.id);
    const message = await messageIn(conversation, request.params.msgId);
    await addReaction(sql, message.id, emoji, request.user.id);
    const list = await reactionChanged(conversation, message.id, emoji.value, request.user.id, 'dm_reaction_added');
    return reply.status(201).send(addedOf(list, emoji));
  });

  async function unreact(dmId: string, messageId: string, raw: string | undefined, userId: string) {
    const emoji = removalEmoji(raw);
    const conversation = await participantOf(dmId, userId);
    const message = await messageIn(conversation, messageId);
    if (!(await reactionsRepo(sql).remove(message.id, emoji, userId))) throw notFound('Reaction');
    await reactionChanged(conversation, message.id, emoji, userId, 'dm_reaction_removed');
  }

  app.delete('/api/dm/:dmId/messages/:msgId/reactions/:emoji', { schema: schema.removeReaction }, async (request, reply) => {
    await unreact(request.params.dmId, request.params.msgId, request.params.emoji, request.user.id);
    return reply.status(204).send(null);
  });

  app.delete('/api/dm/:dmId/messages/:msgId/reactions', { schema: schema.removeReactionByBody }, async (request, reply) => {
    await unreact(request.params.dmId, request.params.msgId, request.body.emoji, request.user.id);
    return reply.status(204).send(null);
  });
}
