// Messages in server channels and threads: history pages, send (JSON, or multipart with
// attachments), edit, delete, pins; threads started from a message; forum posts (a thread in a
// forum channel with its opener message); private thread members. Every send announces message_created to the channel
// room and channel_notification to the members who may view the channel, then enqueues the
// unread aggregation (and attachment processing when there are files).
import { rooms } from '@nexusguild/shared/events';
import { authorizer, type ChannelGrant } from '@nexusguild/shared/authorize';
import type { JobName, JobPayloads } from '@nexusguild/shared/jobs';
import { SERVER_CHANNEL, messageEvents } from '@nexusguild/shared/message-events';
import { mentionsEveryone } from '@nexusguild/shared/messages';
import { Flags, has } from '@nexusguild/shared/permissions';
import { isThread, type ChannelRow, type GuardedChannel } from '@nexusguild/shared/repos/access';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import { threadsRepo } from '@nexusguild/shared/repos/threads';
import type { MessageObject } from '@nexusguild/shared/wire';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { App, ApiDeps } from '../../app.ts';
import { HttpError, badRequest, forbidden, notFound } from '../../errors.ts';
import { demand, guards } from '../../guards.ts';
import { enqueueAfterCommit, removeObjects } from '../../jobs.ts';
import { presentChannel } from '../../present.ts';
import { channelRooms, guildPublishing } from '../../publish.ts';
import { checkedContent, clampLimit, messageComposer, type MessageInput } from '../../compose.ts';
import { withUploads, type ReceivedUpload } from '../../uploads.ts';
import * as schema from './schema.ts';

/** Channel types that hold messages directly (forums hold posts, which are threads). */
const MESSAGE_CHANNELS = new Set(['text', 'announcement', 'thread', 'private_thread']);
const THREAD_PARENTS = new Set(['text', 'announcement']);
const FORUMS = new Set(['forum', 'media']);

/** @everyone and @here need MENTION_EVERYONE in the channel. */
function demandMentions(permissions: bigint, content: string) {
  if (mentionsEveryone(content) && !has(permissions, Flags.MENTION_EVERYONE)) {
    throw forbidden('You do not have permission to use @everyone or @here');
  }
}

export async function messageRoutes(app: App, deps: ApiDeps) {
  const { sql, ids, publisher, storage, jobs } = deps;
  const guard = guards(sql);
  const authorize = authorizer(sql);
  const publishing = guildPublishing(deps);
  const messages = messagesRepo(sql);
  const composer = messageComposer(deps);
  const events = messageEvents(sql, publisher);

  const enqueue = <N extends JobName>(log: FastifyBaseLogger, name: N, data: JobPayloads[N]) => enqueueAfterCommit(jobs, log, name, data);

  /** The permission a send needs in this channel. */
  function demandSend(grant: ChannelGrant) {
    const { channel } = grant;
    if (FORUMS.has(channel.type)) throw badRequest('Messages in a forum channel go in its posts');
    if (!MESSAGE_CHANNELS.has(channel.type)) throw badRequest(`Messages cannot be sent to a ${channel.type} channel`);
    demand(grant.permissions, isThread(channel) ? Flags.SEND_MESSAGES_IN_THREADS : Flags.SEND_MESSAGES);
  }

  /** The send's fields and files; files need ATTACH_FILES in the channel. */
  const readForm = (request: FastifyRequest, grant: ChannelGrant, folder: string): Promise<ReceivedUpload> =>
    composer.readForm(request, folder, () => demand(grant.permissions, Flags.ATTACH_FILES));

  /** Checks a send's fields against the caller's permissions: text, reply target, @everyone. */
  function messageInput(grant: ChannelGrant, form: ReceivedUpload): MessageInput {
    const input = composer.input(form);
    demandMentions(grant.permissions, input.content);
    return input;
  }

  /**
   * After commit: the message to the channel room, the notification to viewers (`everyone`: the
   * @everyone permissions from the sender's grant), then the jobs.
   */
  async function announceMessage(log: FastifyBaseLogger, channel: GuardedChannel, everyone: bigint, message: MessageObject, author: string, notice = message.content) {
    publisher.emit(rooms.channel(channel.id), 'message_created', message);
    await publishing.toViewers(channel, 'channel_notification', {
      channelId: channel.id, serverId: channel.server_id, messageId: message.id, username: author, content: notice,
    }, everyone);
    await enqueue(log, 'aggregate-unread', { channelId: channel.id });
    if (message.attachments.length) await enqueue(log, 'process-attachments', { messageId: message.id });
  }

  const loadOne = composer.loadOne;

  app.get('/api/messages/:channelId', { schema: schema.history }, async (request) => {
    const { channel } = await guard.channel(request.params.channelId, request.user.id, Flags.READ_MESSAGE_HISTORY);
    const { limit, before, after } = request.query;
    return messages.page(channel.id, { limit: clampLimit(limit), before, after });
  });

  app.post('/api/messages/:channelId', { schema: schema.send }, async (request, reply) => {
    const grant = await guard.channel(request.params.channelId, request.user.id);
    demandSend(grant);
    const form = await readForm(request, grant, grant.channel.id);
    const id = await withUploads(storage, form.files, async () => {
      const input = messageInput(grant, form);
      return composer.write(sql, grant.channel, request.user.id, input);
    });
    const message = await loadOne(id);
    await announceMessage(request.log, grant.channel, grant.member.everyone, message, request.user.username);
    return reply.status(201).send(message);
  });

  app.patch('/api/messages/:messageId', { schema: schema.edit }, async (request) => {
    const { message, grant } = await guard.message(request.params.messageId, request.user.id);
    if (message.author_id !== request.user.id) throw forbidden('You can only edit your own messages');
    const content = checkedContent(request.body.content, message.has_attachments);
    demandMentions(grant.permissions, content);
    const mentions = await messages.mentionedMembers(grant.server.id, content);
    const edited = await messages.edit(message.id, { content, mentionEveryone: mentionsEveryone(content), mentions });
    if (!edited) throw notFound('Message');
    const updated = await loadOne(message.id);
    await events.updated(updated, SERVER_CHANNEL);
    return updated;
  });

  app.delete('/api/messages/:messageId', { schema: schema.remove }, async (request, reply) => {
    const { message, grant } = await guard.message(request.params.messageId, request.user.id);
    if (message.author_id !== request.user.id && !has(grant.permissions, Flags.MANAGE_MESSAGES)) {
      throw forbidden('You can only delete your own messages');
    }
    const removed = await sql.begin((tx) => messagesRepo(tx).remove(message.id));
    if (!removed) throw notFound('Message');
    const channelId = message.channel_id;
    publisher.emit(rooms.channel(channelId), 'message_deleted', { messageId: message.id, channelId });
    if (removed.threadId) {
      // The thread went with its message (notes §3.4 [rec]): announced like a deleted channel.
      publisher.emit(rooms.server(grant.server.id), 'channel_deleted', { channelId: removed.threadId, serverId: grant.server.id });
      publisher.clearRooms(channelRooms([removed.threadId]));
    }
    await removeObjects(jobs, removed.keys, request.log);
    await enqueue(request.log, 'aggregate-unread', { channelId });
    return reply.status(204).send(null);
  });

  // Pins: MANAGE_MESSAGES in the message's channel; both directions are idempotent and announce
  // only an actual change.

  for (const [method, pinned] of [['PUT', true], ['DELETE', false]] as const) {
    app.route({
      method,
      url: '/api/messages/:messageId/pin',
      schema: schema.pin,
      handler: async (request) => {
        const { message } = await guard.message(request.params.messageId, request.user.id, Flags.MANAGE_MESSAGES);
        const changed = await messages.setPinned(message.id, pinned, request.user.id);
        if (changed === null) throw notFound('Message');
        if (changed) {
          publisher.emit(rooms.channel(message.channel_id), pinned ? 'message_pinned' : 'message_unpinned', { messageId: message.id, channelId: message.channel_id });
        }
        return loadOne(message.id);
      },
    });
  }

  app.get('/api/messages/channels/:channelId/pins', { schema: schema.pins }, async (request) => {
    const { channel } = await guard.channel(request.params.channelId, request.user.id, Flags.READ_MESSAGE_HISTORY);
    return messages.pins(channel.id);
  });

  // Threads (decisions, Model; notes §8): at most one per message, a channel of type thread or
  // private_thread whose overrides are its parent's; a private one is seen by its members.

  /** A thread with its reply count: every message of a message's thread; a forum post's opener does not count (G5). */
  const presentThread = (row: ChannelRow, messageCount: number) => ({
    ...presentChannel(row),
    reply_count: row.parent_message_id === null ? Math.max(0, messageCount - 1) : messageCount,
  });

  app.post('/api/messages/:messageId/thread', { schema: schema.createThread }, async (request, reply) => {
    const isPrivate = request.body.isPrivate ?? request.body.is_private ?? false;
    const needed = isPrivate ? Flags.CREATE_PRIVATE_THREADS : Flags.CREATE_PUBLIC_THREADS;
    const { message, grant } = await guard.message(request.params.messageId, request.user.id, needed);
    const { channel, server } = grant;
    if (!THREAD_PARENTS.has(channel.type)) throw badRequest('Threads can only be created in text or announcement channels');
    const name = request.body.name.trim();
    if (!name) throw badRequest('Thread name required', [{ field: 'name', message: 'is empty' }]);
    const { thread, created } = await sql.begin(async (tx) => {
      const repo = threadsRepo(tx);
      // The parent is locked (FOR SHARE) so a concurrent channel delete waits and then takes the
      // thread with it; the message too, so it cannot vanish under the new thread.
      if (!(await messagesRepo(tx).lockChannel(channel.id))) throw notFound('Channel');
      if (!(await repo.lockMessage(message.id))) throw notFound('Message');
      const existing = await repo.byMessage(message.id);
      if (existing) return { thread: existing, created: false };
      const row = await repo.create({
        id: ids.next(), serverId: server.id, type: isPrivate ? 'private_thread' : 'thread', name,
        parentId: channel.id, parentMessageId: message.id, ownerId: request.user.id,
      });
      if (!row) return { thread: (await repo.byMessage(message.id))!, created: false }; // a concurrent creation won
      await repo.addMember(row.id, request.user.id);
      return { thread: { ...row, message_count: 0 }, created: true };
    });
    if (!created) {
      await guard.channel(thread.id, request.user.id); // an existing private thread is its members' only
      return reply.status(200).send(presentThread(thread, thread.message_count));
    }
    const presented = presentThread(thread, 0);
    await publishing.toViewers({ ...thread, overrides: channel.overrides }, 'thread_created', {
      serverId: server.id, parentChannelId: channel.id, messageId: message.id, thread: presentChannel(thread),
    });
    return reply.status(201).send(presented);
  });

  app.get('/api/messages/:messageId/thread', { schema: schema.getThread }, async (request) => {
    const { message } = await guard.message(request.params.messageId, request.user.id);
    const thread = await threadsRepo(sql).byMessage(message.id);
    if (!thread) throw new HttpError(404, 'No thread found');
    await guard.channel(thread.id, request.user.id);
    return presentThread(thread, thread.message_count);
  });

  // Private thread members (notes G23): a member adds someone who can view the parent channel;
  // anyone may leave, and those who manage threads may remove others.

  app.put('/api/channels/:channelId/members/:userId', { schema: schema.threadMember }, async (request, reply) => {
    const { channel, server } = await guard.channel(request.params.channelId, request.user.id);
    if (channel.type !== 'private_thread') throw badRequest('Only private threads have members');
    const targetId = request.params.userId;
    const target = await authorize.channel(channel.parent_id!, targetId);
    if ('refused' in target) {
      if (target.refused === 404 || /not a member/.test(target.error)) throw notFound('Member');
      throw badRequest('That member cannot view the channel of this thread');
    }
    const added = await sql.begin(async (tx) => {
      if (!(await messagesRepo(tx).lockChannel(channel.id))) throw notFound('Channel');
      return threadsRepo(tx).addMember(channel.id, targetId);
    });
    // From the new member's side the thread has just appeared.
    if (added) {
      publisher.emit(rooms.user(targetId), 'thread_created', {
        serverId: server.id, parentChannelId: channel.parent_id!, messageId: channel.parent_message_id, thread: presentChannel(channel),
      });
    }
    return reply.status(204).send(null);
  });

  app.delete('/api/channels/:channelId/members/:userId', { schema: schema.threadMember }, async (request, reply) => {
    const { channel, permissions } = await guard.channel(request.params.channelId, request.user.id);
    if (channel.type !== 'private_thread') throw badRequest('Only private threads have members');
    const targetId = request.params.userId;
    if (targetId !== request.user.id) demand(permissions, Flags.MANAGE_THREADS);
    if (!(await threadsRepo(sql).removeMember(channel.id, targetId))) throw notFound('Member');
    publisher.leaveRooms(targetId, [rooms.channel(channel.id)]);
    return reply.status(204).send(null);
  });

  // Forum posts (G5): a thread in a forum or media channel, named by its title, opened by its
  // first message. Its replies are ordinary messages sent to the thread's id.

  app.post('/api/channels/:channelId/posts', { schema: schema.createPost }, async (request, reply) => {
    const grant = await guard.channel(request.params.channelId, request.user.id, Flags.SEND_MESSAGES);
    const { channel, server } = grant;
    if (!FORUMS.has(channel.type)) throw badRequest('Posts can only be created in forum or media channels');
    const threadId = ids.next(); // first, so the opener's files are stored under the post
    const form = await readForm(request, grant, threadId);
    const title = (form.fields.title ?? '').trim();
    const written = await withUploads(storage, form.files, async () => {
      if (!title) throw badRequest('Post title required', [{ field: 'title', message: 'is empty' }]);
      if ([...title].length > schema.MAX_TITLE) throw badRequest(`Post title must be at most ${schema.MAX_TITLE} characters`, [{ field: 'title', message: 'is too long' }]);
      if (channel.type === 'media' && !form.files.length) throw badRequest('A post in a media channel needs an attachment');
      const input = messageInput(grant, form);
      return sql.begin(async (tx) => {
        if (!(await messagesRepo(tx).lockChannel(channel.id))) throw notFound('Channel');
        const row = (await threadsRepo(tx).create({
          id: threadId, serverId: server.id, type: 'thread', name: title, parentId: channel.id, parentMessageId: null, ownerId: request.user.id,
        }))!; // a post hangs off no message, so nothing can conflict
        return { thread: row, messageId: await composer.write(tx, row, request.user.id, input) };
      });
    });
    const { thread } = written;
    const message = await loadOne(written.messageId);
    const guarded = { ...thread, overrides: channel.overrides };
    await publishing.toViewers(guarded, 'thread_created', { serverId: server.id, parentChannelId: channel.id, messageId: null, thread: presentChannel(thread) });
    // The notification carries the title, as the original's forum did.
    await announceMessage(request.log, guarded, grant.member.everyone, message, request.user.username, title);
    return reply.status(201).send({ ...presentThread(thread, 1), message });
  });

  app.get('/api/channels/:channelId/posts', { schema: schema.posts }, async (request) => {
    const { channel } = await guard.channel(request.params.channelId, request.user.id, Flags.READ_MESSAGE_HISTORY);
    if (!FORUMS.has(channel.type)) throw badRequest('Only forum and media channels have posts');
    return (await threadsRepo(sql).posts(channel.id)).map((row) => presentThread(row, row.message_count));
  });
}
