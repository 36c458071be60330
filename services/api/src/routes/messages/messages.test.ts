// Message routes against a real API, Postgres, Redis (jobs) and socket.io clients: history pages,
// send/edit/delete with every refusal, mentions resolved at send time, pins, threads, forum posts,
// and who hears which event.
import t from 'tap';
import { Queue } from 'bullmq';
import { QUEUE, bullConnection, type JobName } from '@nexusguild/shared/jobs';
import { Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, grantRole, listenToServer, memberWith, roomAck, sendMessage, type GuildFixture, type Registered } from '../../../../../test/guild.ts';
import { assertError, leavesRoom, nextEvent, record, setup, type TestSocket } from '../../../../../test/harness.ts';
import { rooms } from '@nexusguild/shared/events';
import { channelsRepo } from '@nexusguild/shared/repos/channels';

const env = await setup(t);
const sql = env.resources.sql;
const queue = new Queue(QUEUE, { connection: bullConnection(env.config.redisUrl), prefix: env.resources.keys.bullPrefix });
t.teardown(() => queue.close());

const MESSAGE_KEYS = [
  'attachments', 'avatar', 'channel_id', 'content', 'created_at', 'display_name', 'edited_at', 'id', 'is_pinned', 'reply_to_content',
  'reply_to_id', 'reply_to_username', 'thread_channel_id', 'thread_reply_count', 'updated_at', 'user_id', 'username',
];

const call = (method: string, path: string, who?: Registered, json?: unknown) =>
  env.request(method, path, { cookie: who?.cookie, ...(json !== undefined ? { json } : {}) });

const send = (channelId: string, who: Registered, json: Record<string, unknown>) => sendMessage(env, channelId, who, json);

async function createChannel(guild: GuildFixture, body: Record<string, unknown>) {
  const res = await call('POST', `/api/channels/${guild.server.id}`, guild.owner, body);
  if (res.status !== 201) throw new Error(`create channel failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; name: string; type: string };
}

/** The jobs of `name` waiting in this test's queue (no worker runs here), as their payloads. */
async function jobsNamed(name: JobName): Promise<Record<string, unknown>[]> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.filter((j) => j.name === name).map((j) => j.data as Record<string, unknown>);
}

/** Inserts `n` messages by `authorId` straight into the table (ids minted in order). */
async function insertMessages(channelId: string, authorId: string, n: number): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => ({ id: env.resources.ids.next(), channel_id: channelId, author_id: authorId, content: `m${i}` }));
  await sql`INSERT INTO messages ${sql(rows)}`;
  return rows.map((r) => r.id);
}

t.test('every route needs a session', async (t) => {
  const routes: [string, string][] = [
    ['GET', '/api/messages/1'], ['POST', '/api/messages/1'], ['PATCH', '/api/messages/1'], ['DELETE', '/api/messages/1'],
    ['PUT', '/api/messages/1/pin'], ['DELETE', '/api/messages/1/pin'], ['GET', '/api/messages/channels/1/pins'],
    ['GET', '/api/messages/1/thread'], ['POST', '/api/messages/1/thread'], ['POST', '/api/channels/1/posts'], ['GET', '/api/channels/1/posts'],
  ];
  for (const [method, path] of routes) {
    const res = await env.request(method, path, { json: {} });
    t.equal(res.status, 401, `${method} ${path}`);
  }
});

t.test('bad ids are 400, unknown ones 404', async (t) => {
  const guild = await createGuild(env, 'ids');
  for (const bad of ['abc', '123456789012345678901', '-1']) {
    for (const [method, path, body] of [
      ['GET', `/api/messages/${bad}`], ['POST', `/api/messages/${bad}`, { content: 'x' }], ['PATCH', `/api/messages/${bad}`, { content: 'x' }],
      ['DELETE', `/api/messages/${bad}`], ['PUT', `/api/messages/${bad}/pin`], ['GET', `/api/messages/channels/${bad}/pins`],
      ['POST', `/api/messages/${bad}/thread`, { name: 'x' }],
    ] as [string, string, unknown?][]) {
      assertError(t, await call(method, path, guild.owner, body), 400, undefined, `${method} ${path}`);
    }
  }
  assertError(t, await call('GET', '/api/messages/99999999999999999999', guild.owner), 400, undefined, 'beyond int8');
  assertError(t, await call('GET', '/api/messages/42', guild.owner), 404, 'Channel not found');
  assertError(t, await call('POST', '/api/messages/42', guild.owner, { content: 'x' }), 404, 'Channel not found');
  assertError(t, await call('PATCH', '/api/messages/42', guild.owner, { content: 'x' }), 404, 'Message not found');
  assertError(t, await call('DELETE', '/api/messages/42', guild.owner), 404, 'Message not found');
  assertError(t, await call('PUT', '/api/messages/42/pin', guild.owner), 404, 'Message not found');
  assertError(t, await call('GET', `/api/messages/${guild.general.id}?before=abc`, guild.owner), 400);
  assertError(t, await call('GET', `/api/messages/${guild.general.id}?limit=ten`, guild.owner), 400);
});

t.test('send: the full Message Object, in the history too, with nickname, reply fields and jobs', async (t) => {
  const guild = await createGuild(env, 'send');
  const member = await addMember(env, guild);
  await sql`UPDATE server_members SET nickname = 'Nick' WHERE server_id = ${guild.server.id} AND user_id = ${member.user.id}`;
  const first = await send(guild.general.id, member, { content: '  hello  ' });
  t.same(Object.keys(first).sort(), MESSAGE_KEYS, 'every field of the Message Object');
  t.match(first, {
    channel_id: guild.general.id, user_id: member.user.id, username: member.user.username, display_name: 'Nick', avatar: null,
    content: 'hello', attachments: [], updated_at: null, edited_at: null, is_pinned: false,
    reply_to_id: null, reply_to_content: null, reply_to_username: null, thread_channel_id: null, thread_reply_count: 0,
  });
  const reply = await send(guild.general.id, guild.owner, { content: 'answer', replyTo: first.id });
  t.match(reply, { reply_to_id: first.id, reply_to_content: 'hello', reply_to_username: 'Nick' }, 'reply_to_username prefers the nickname');
  const alias = await send(guild.general.id, member, { content: 'alias', replyToId: reply.id });
  t.match(alias, { reply_to_id: reply.id, reply_to_username: guild.owner.user.username });

  const history = await call('GET', `/api/messages/${guild.general.id}`, member);
  t.equal(history.status, 200);
  t.same(history.body.map((m: { id: string }) => m.id), [first.id, reply.id, alias.id], 'oldest→newest');
  t.same(history.body[1], reply, 'the history shows the same object the send returned');

  const unread = await jobsNamed('aggregate-unread');
  // One pending job per channel: sends while it waits fold into it (coalescing, shared/jobs.ts).
  t.equal(unread.filter((j) => j.channelId === guild.general.id).length, 1, 'aggregate-unread enqueued, coalesced per channel');
  t.same((await jobsNamed('process-attachments')).filter((j) => [first.id, reply.id].includes(j.messageId as string)), [], 'no attachment job without files');
});

t.test('send refusals', async (t) => {
  const guild = await createGuild(env, 'refuse');
  const member = await addMember(env, guild);
  const stranger = await env.register('stranger');
  const general = guild.general.id;
  assertError(t, await call('POST', `/api/messages/${general}`, member, {}), 400, 'Message must have content or attachments');
  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: '   ' }), 400, 'Message must have content or attachments');
  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: 'x'.repeat(2001) }), 400, /at most 2000/);
  t.equal((await call('POST', `/api/messages/${general}`, member, { content: ` ${'é'.repeat(2000)} ` })).status, 201, '2000 characters after trimming');
  assertError(t, await call('POST', `/api/messages/${general}`, stranger, { content: 'hi' }), 403, 'You are not a member of this server');
  const channels = (await call('GET', `/api/channels/${guild.server.id}`, guild.owner)).body as { id: string; type: string }[];
  const category = channels.find((c) => c.type === 'category')!;
  const voice = channels.find((c) => c.type === 'voice')!;
  assertError(t, await call('POST', `/api/messages/${category.id}`, member, { content: 'hi' }), 400, /category/);
  assertError(t, await call('POST', `/api/messages/${voice.id}`, member, { content: 'hi' }), 400, /voice/);
  const forum = await createChannel(guild, { name: 'forum', type: 'forum' });
  assertError(t, await call('POST', `/api/messages/${forum.id}`, member, { content: 'hi' }), 400, /posts/);

  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: 'hey @everyone' }), 403, 'You do not have permission to use @everyone or @here');
  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: '@here now' }), 403, /@everyone or @here/);
  t.equal((await call('POST', `/api/messages/${general}`, member, { content: 'mail me@everyone.org' })).status, 201, 'not a mention inside a word');

  const other = await createChannel(guild, { name: 'other' });
  const elsewhere = await send(other.id, member, { content: 'elsewhere' });
  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: 'r', replyTo: elsewhere.id }), 400, /in this channel/);
  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: 'r', replyTo: '123' }), 400, /in this channel/);
  assertError(t, await call('POST', `/api/messages/${general}`, member, { content: 'r', replyTo: 'abc' }), 400);

  // SEND_MESSAGES denied for the member in this channel.
  await call('PUT', `/api/channels/${other.id}/permissions/${member.user.id}`, guild.owner, { target_type: 'member', deny: Flags.SEND_MESSAGES.toString() });
  assertError(t, await call('POST', `/api/messages/${other.id}`, member, { content: 'hi' }), 403, /SEND_MESSAGES/);
  // VIEW_CHANNEL denied: the channel is not theirs to read or write.
  await call('PUT', `/api/channels/${other.id}/permissions/${member.user.id}`, guild.owner, { target_type: 'member', deny: Flags.VIEW_CHANNEL.toString() });
  assertError(t, await call('POST', `/api/messages/${other.id}`, member, { content: 'hi' }), 403, /VIEW_CHANNEL/);
  assertError(t, await call('GET', `/api/messages/${other.id}`, member), 403, /VIEW_CHANNEL/);
  // READ_MESSAGE_HISTORY denied: no history, sending still works.
  await call('PUT', `/api/channels/${other.id}/permissions/${member.user.id}`, guild.owner, { target_type: 'member', deny: Flags.READ_MESSAGE_HISTORY.toString() });
  assertError(t, await call('GET', `/api/messages/${other.id}`, member), 403, /READ_MESSAGE_HISTORY/);
  t.equal((await call('POST', `/api/messages/${other.id}`, member, { content: 'blind' })).status, 201);

  assertError(t, await env.request('POST', `/api/messages/${general}`, { cookie: member.cookie, payload: 'hi', headers: { 'content-type': 'text/plain' } }), 415);
});

t.test('mentions are resolved at send time into the message row', async (t) => {
  const guild = await createGuild(env, 'mentions');
  const alice = await addMember(env, guild);
  const bob = await addMember(env, guild);
  const outsider = await env.register('outsider');
  const mod = await memberWith(env, guild, Flags.MENTION_EVERYONE);
  const stored = async (id: string) => (await sql<{ mention_everyone: boolean; mentions: string[] }[]>`
    SELECT mention_everyone, mentions::text[] AS mentions FROM messages WHERE id = ${id}`)[0]!;

  const tagged = await send(guild.general.id, alice, { content: `hi <@${bob.user.id}> and <@${outsider.user.id}>` });
  t.same(await stored(tagged.id), { mention_everyone: false, mentions: [bob.user.id] }, '<@id> of members only');
  const named = await send(guild.general.id, bob, { content: `@${alice.user.username.toUpperCase()}, look` });
  t.same(await stored(named.id), { mention_everyone: false, mentions: [alice.user.id] }, '@username, case-insensitive, as a whole word');
  const glued = await send(guild.general.id, bob, { content: `@${alice.user.username}x and x@${alice.user.username}` });
  t.same(await stored(glued.id), { mention_everyone: false, mentions: [] }, 'not inside a longer word');
  const everyone = await send(guild.general.id, mod, { content: '@everyone meeting' });
  t.same(await stored(everyone.id), { mention_everyone: true, mentions: [] });
  const owner = await send(guild.general.id, guild.owner, { content: '@here too' });
  t.equal((await stored(owner.id)).mention_everyone, true, 'the owner holds MENTION_EVERYONE');
});

t.test('edit: author only, 1–2000 characters, message_updated with the full object', async (t) => {
  const guild = await createGuild(env, 'edit');
  const member = await addMember(env, guild);
  const socket = await env.connect(member.cookie);
  t.same(await roomAck(socket, 'join_channel', guild.general.id), { ok: true });
  const message = await send(guild.general.id, member, { content: 'first' });

  assertError(t, await call('PATCH', `/api/messages/${message.id}`, guild.owner, { content: 'hijack' }), 403, 'You can only edit your own messages');
  assertError(t, await call('PATCH', `/api/messages/${message.id}`, member, { content: '  ' }), 400, /content/);
  assertError(t, await call('PATCH', `/api/messages/${message.id}`, member, { content: 'y'.repeat(2001) }), 400, /2000/);
  assertError(t, await call('PATCH', `/api/messages/${message.id}`, member, {}), 400);
  assertError(t, await call('PATCH', `/api/messages/${message.id}`, member, { content: '@everyone' }), 403, /@everyone/);

  const updated = nextEvent(socket, 'message_updated');
  const res = await call('PATCH', `/api/messages/${message.id}`, member, { content: ' second ' });
  t.equal(res.status, 200);
  t.match(res.body, { id: message.id, content: 'second', created_at: message.created_at });
  t.type(res.body.edited_at, 'string');
  t.equal(res.body.updated_at, res.body.edited_at, 'updated_at and edited_at are the same instant');
  t.same(await updated, res.body, 'the event carries the same full object');
});

t.test('delete: own, or MANAGE_MESSAGES in the channel; message_deleted; 404 after', async (t) => {
  const guild = await createGuild(env, 'delete');
  const member = await addMember(env, guild);
  const other = await addMember(env, guild);
  const mod = await memberWith(env, guild, Flags.MANAGE_MESSAGES);
  const socket = await env.connect(other.cookie);
  t.same(await roomAck(socket, 'join_channel', guild.general.id), { ok: true });

  const mine = await send(guild.general.id, member, { content: 'mine' });
  assertError(t, await call('DELETE', `/api/messages/${mine.id}`, other), 403, 'You can only delete your own messages');
  const deleted = nextEvent(socket, 'message_deleted');
  t.equal((await call('DELETE', `/api/messages/${mine.id}`, member)).status, 204);
  t.same(await deleted, { messageId: mine.id, channelId: guild.general.id });
  assertError(t, await call('DELETE', `/api/messages/${mine.id}`, member), 404, 'Message not found');

  const theirs = await send(guild.general.id, member, { content: 'theirs' });
  t.equal((await call('DELETE', `/api/messages/${theirs.id}`, mod)).status, 204, 'a moderator may');
  const again = await send(guild.general.id, member, { content: 'again' });
  t.equal((await call('DELETE', `/api/messages/${again.id}`, guild.owner)).status, 204, 'the owner may');
  t.same((await call('GET', `/api/messages/${guild.general.id}`, member)).body, []);
});

t.test('history pages over a few hundred messages: no gaps, no duplicates, oldest→newest', async (t) => {
  const guild = await createGuild(env, 'pages');
  const ids = await insertMessages(guild.general.id, guild.owner.user.id, 305);
  const get = async (query: string) => {
    const res = await call('GET', `/api/messages/${guild.general.id}?${query}`, guild.owner);
    t.equal(res.status, 200, query);
    return (res.body as { id: string }[]).map((m) => m.id);
  };
  t.same(await get(''), ids.slice(-50), 'default: the newest 50');
  t.equal((await get('limit=500')).length, 100, 'limit clamped to 100');
  t.same(await get('limit=0'), ids.slice(-1), 'limit clamped to 1');

  // Scrolling up with `before`.
  const up: string[] = [];
  let page = await get('limit=40');
  while (page.length) {
    up.unshift(...page);
    page = await get(`limit=40&before=${page[0]}`);
  }
  t.same(up, ids, 'before: every message once, in order');

  // Catching up with `after`.
  const down: string[] = [];
  let cursor = '0';
  for (;;) {
    const next = await get(`limit=70&after=${cursor}`);
    if (!next.length) break;
    down.push(...next);
    cursor = next.at(-1)!;
  }
  t.same(down, ids, 'after: every message once, in order');
  t.same(await get(`after=${ids[10]}&before=${ids[14]}`), ids.slice(11, 14), 'both cursors bound the page');
  t.same(await get(`before=${ids[0]}`), [], 'nothing before the first');
});

t.test('events: message_created to the channel room, channel_notification only to viewers', async (t) => {
  const guild = await createGuild(env, 'events');
  const member = await addMember(env, guild);
  const blind = await addMember(env, guild);
  const secret = await createChannel(guild, { name: 'secret' });
  await call('PUT', `/api/channels/${secret.id}/permissions/${blind.user.id}`, guild.owner, { target_type: 'member', deny: Flags.VIEW_CHANNEL.toString() });

  const memberSocket = await listenToServer(env, t, member.cookie, guild.server.id);
  t.same(await roomAck(memberSocket, 'join_channel', secret.id), { ok: true });
  const blindSocket = await listenToServer(env, t, blind.cookie, guild.server.id);
  t.match(await roomAck(blindSocket, 'join_channel', secret.id), { ok: false }, 'cannot join the hidden channel');
  const blindCreated = record(blindSocket, 'message_created');
  const blindNotified = record(blindSocket, 'channel_notification');

  const created = nextEvent(memberSocket, 'message_created');
  const notified = nextEvent(memberSocket, 'channel_notification');
  const message = await send(secret.id, guild.owner, { content: 'classified' });
  t.same(await created, message);
  t.same(await notified, { channelId: secret.id, serverId: guild.server.id, messageId: message.id, username: guild.owner.user.username, content: 'classified' });

  // A message in general afterwards reaches the blind member: everything before it has too.
  const generalNote = nextEvent(blindSocket, 'channel_notification', { filter: (p) => p.channelId === guild.general.id });
  await send(guild.general.id, guild.owner, { content: 'public' });
  await generalNote;
  t.same(blindCreated, [], 'no message_created of the hidden channel');
  t.same(blindNotified.filter((n) => n.channelId === secret.id), [], 'no channel_notification of the hidden channel');
});

t.test('a role-based VIEW_CHANNEL deny hides the notification too', async (t) => {
  const guild = await createGuild(env, 'roledeny');
  const member = await addMember(env, guild);
  const role = await grantRole(env, guild, member, 0n, 'muted');
  const hidden = await createChannel(guild, { name: 'hidden' });
  await call('PUT', `/api/channels/${hidden.id}/permissions/${role.id}`, guild.owner, { target_type: 'role', deny: Flags.VIEW_CHANNEL.toString() });
  const socket: TestSocket = await listenToServer(env, t, member.cookie, guild.server.id);
  const notes = record(socket, 'channel_notification');
  await send(hidden.id, guild.owner, { content: 'secret' });
  const barrier = nextEvent(socket, 'channel_notification', { filter: (p) => p.channelId === guild.general.id });
  await send(guild.general.id, guild.owner, { content: 'open' });
  await barrier;
  t.same(notes.map((n) => n.channelId), [guild.general.id]);
});

t.test('pins: MANAGE_MESSAGES in the channel, idempotent, most recently pinned first', async (t) => {
  const guild = await createGuild(env, 'pins');
  const member = await addMember(env, guild);
  const mod = await memberWith(env, guild, Flags.MANAGE_MESSAGES);
  const socket = await env.connect(member.cookie);
  t.same(await roomAck(socket, 'join_channel', guild.general.id), { ok: true });
  const pinnedEvents = record(socket, 'message_pinned');
  const a = await send(guild.general.id, member, { content: 'a' });
  const b = await send(guild.general.id, member, { content: 'b' });

  assertError(t, await call('PUT', `/api/messages/${a.id}/pin`, member), 403, /MANAGE_MESSAGES/);
  const pinned = nextEvent(socket, 'message_pinned');
  const res = await call('PUT', `/api/messages/${a.id}/pin`, mod);
  t.equal(res.status, 200);
  t.match(res.body, { id: a.id, is_pinned: true });
  t.same(await pinned, { messageId: a.id, channelId: guild.general.id });
  t.equal((await call('PUT', `/api/messages/${a.id}/pin`, mod)).status, 200, 'pinning again is fine');
  t.equal((await call('PUT', `/api/messages/${b.id}/pin`, guild.owner)).status, 200);

  const pins = await call('GET', `/api/messages/channels/${guild.general.id}/pins`, member);
  t.equal(pins.status, 200);
  t.same(pins.body.map((m: { id: string }) => m.id), [b.id, a.id], 'most recently pinned first');
  t.match(pins.body[1], { pinned_by: mod.user.id, pinned_by_username: mod.user.username, is_pinned: true });
  t.type(pins.body[1].pinned_at, 'string');

  const unpinned = nextEvent(socket, 'message_unpinned');
  t.match((await call('DELETE', `/api/messages/${a.id}/pin`, mod)).body, { id: a.id, is_pinned: false });
  t.same(await unpinned, { messageId: a.id, channelId: guild.general.id });
  t.equal((await call('DELETE', `/api/messages/${a.id}/pin`, mod)).status, 200, 'unpinning again is fine');
  t.equal(pinnedEvents.filter((p) => p.messageId === a.id).length, 1, 'the repeated pin announced nothing');
  t.same((await call('GET', `/api/messages/channels/${guild.general.id}/pins`, member)).body.map((m: { id: string }) => m.id), [b.id]);
  assertError(t, await call('GET', `/api/messages/channels/${guild.general.id}/pins`, await env.register('x')), 403);
});

t.test('threads: create once, fields on the parent message, thread messages, deletion with the message', async (t) => {
  const guild = await createGuild(env, 'threads');
  const member = await addMember(env, guild);
  const threader = await memberWith(env, guild, Flags.CREATE_PUBLIC_THREADS | Flags.SEND_MESSAGES_IN_THREADS);
  const watcher = await listenToServer(env, t, member.cookie, guild.server.id);
  const parent = await send(guild.general.id, member, { content: 'start here' });

  assertError(t, await call('POST', `/api/messages/${parent.id}/thread`, member, { name: 'x' }), 403, /CREATE_PUBLIC_THREADS/);
  assertError(t, await call('POST', `/api/messages/${parent.id}/thread`, threader, { name: '   ' }), 400, 'Thread name required');
  assertError(t, await call('GET', `/api/messages/${parent.id}/thread`, member), 404, 'No thread found');

  const announced = nextEvent(watcher, 'thread_created');
  const created = await call('POST', `/api/messages/${parent.id}/thread`, threader, { name: ' Topic ' });
  t.equal(created.status, 201);
  const thread = created.body;
  t.match(thread, { name: 'Topic', type: 'thread', type_int: 11, parent_id: guild.general.id, category_id: null, parent_message_id: parent.id, is_private: false, reply_count: 0 });
  const event = await announced;
  t.match(event, { serverId: guild.server.id, parentChannelId: guild.general.id, messageId: parent.id, thread: { id: thread.id, name: 'Topic' } });
  const again = await call('POST', `/api/messages/${parent.id}/thread`, guild.owner, { name: 'Other' });
  t.equal(again.status, 200, 'at most one thread per message');
  t.equal(again.body.id, thread.id);

  assertError(t, await call('POST', `/api/messages/${thread.id}`, member, { content: 'hi' }), 403, /SEND_MESSAGES_IN_THREADS/);
  const inThread = await send(thread.id, threader, { content: 'first reply' });
  await send(thread.id, guild.owner, { content: 'second reply', replyTo: inThread.id });
  const got = await call('GET', `/api/messages/${parent.id}/thread`, member);
  t.match(got.body, { id: thread.id, reply_count: 2 });
  const [withThread] = (await call('GET', `/api/messages/${guild.general.id}`, member)).body;
  t.match(withThread, { id: parent.id, thread_channel_id: thread.id, thread_reply_count: 2 });
  t.same((await call('GET', `/api/messages/${thread.id}`, member)).body.map((m: { content: string }) => m.content), ['first reply', 'second reply']);
  const channels = (await call('GET', `/api/channels/${guild.server.id}`, member)).body as { id: string }[];
  t.notOk(channels.some((c) => c.id === thread.id), 'threads stay out of the channel list');

  // Threads only from text and announcement channels' messages.
  assertError(t, await call('POST', `/api/messages/${inThread.id}/thread`, guild.owner, { name: 'nested' }), 400, /text or announcement/);

  const gone = nextEvent(watcher, 'channel_deleted', { filter: (p) => p.channelId === thread.id });
  t.equal((await call('DELETE', `/api/messages/${parent.id}`, member)).status, 204);
  t.same(await gone, { channelId: thread.id, serverId: guild.server.id }, 'the thread is announced deleted');
  assertError(t, await call('GET', `/api/messages/${thread.id}`, member), 404, 'Channel not found');
});

t.test('private threads: members only, on REST, on the gateway and in events', async (t) => {
  const guild = await createGuild(env, 'private');
  const creator = await memberWith(env, guild, Flags.CREATE_PRIVATE_THREADS | Flags.SEND_MESSAGES_IN_THREADS);
  const outsider = await memberWith(env, guild, Flags.SEND_MESSAGES_IN_THREADS, 'Sender');
  const outsiderSocket = await listenToServer(env, t, outsider.cookie, guild.server.id);
  const creatorSocket = await listenToServer(env, t, creator.cookie, guild.server.id);
  const outsiderThreads = record(outsiderSocket, 'thread_created');
  const outsiderNotes = record(outsiderSocket, 'channel_notification');
  const parent = await send(guild.general.id, creator, { content: 'psst' });

  assertError(t, await call('POST', `/api/messages/${parent.id}/thread`, outsider, { name: 'x', isPrivate: true }), 403, /CREATE_PRIVATE_THREADS/);
  const announced = nextEvent(creatorSocket, 'thread_created');
  const created = await call('POST', `/api/messages/${parent.id}/thread`, creator, { name: 'secret', isPrivate: true });
  t.equal(created.status, 201);
  const thread = created.body;
  t.match(thread, { type: 'private_thread', type_int: 12, is_private: true });
  t.equal((await announced).thread.id, thread.id, 'the creator hears of it');

  for (const [method, path, body] of [
    ['GET', `/api/messages/${thread.id}`], ['POST', `/api/messages/${thread.id}`, { content: 'let me in' }],
    ['GET', `/api/messages/${parent.id}/thread`], ['POST', `/api/messages/${parent.id}/thread`, { name: 'again' }],
    ['GET', `/api/messages/channels/${thread.id}/pins`],
  ] as [string, string, unknown?][]) {
    assertError(t, await call(method, path, outsider, body), 403, undefined, `${method} ${path}`);
  }
  t.match(await roomAck(outsiderSocket, 'join_channel', thread.id), { ok: false, error: 'Not a member of this private thread' });
  t.same(await roomAck(creatorSocket, 'join_channel', thread.id), { ok: true });

  const created2 = nextEvent(creatorSocket, 'message_created');
  const noted = nextEvent(creatorSocket, 'channel_notification', { filter: (p) => p.channelId === thread.id });
  const message = await send(thread.id, creator, { content: 'inside' });
  t.same(await created2, message);
  await noted;
  const owner = await call('GET', `/api/messages/${thread.id}`, guild.owner);
  t.equal(owner.status, 200, 'the owner (MANAGE_THREADS) may read it');

  // A public message afterwards reaches the outsider: nothing of the thread came before it.
  const barrier = nextEvent(outsiderSocket, 'channel_notification', { filter: (p) => p.channelId === guild.general.id });
  await send(guild.general.id, creator, { content: 'public' });
  await barrier;
  t.same(outsiderThreads, [], 'no thread_created');
  t.same(outsiderNotes.map((n) => n.channelId), [guild.general.id, guild.general.id], 'no notification of the thread');
});

t.test('a thread manager who loses MANAGE_THREADS is pulled out of a private thread they are not a member of', async (t) => {
  const guild = await createGuild(env, 'managed');
  const creator = await memberWith(env, guild, Flags.CREATE_PRIVATE_THREADS | Flags.SEND_MESSAGES_IN_THREADS);
  const manager = await memberWith(env, guild, Flags.MANAGE_THREADS, 'Threads');
  const parent = await send(guild.general.id, creator, { content: 'psst' });
  const thread = (await call('POST', `/api/messages/${parent.id}/thread`, creator, { name: 'mods', isPrivate: true })).body;
  const socket = await listenToServer(env, t, manager.cookie, guild.server.id);
  t.same(await roomAck(socket, 'join_channel', thread.id), { ok: true }, 'MANAGE_THREADS lets a non-member in');

  const left = leavesRoom(env.gateway, rooms.channel(thread.id), socket.id!);
  t.equal((await call('PATCH', `/api/servers/${guild.server.id}/roles/${manager.role.id}`, guild.owner, { permissions: '0' })).status, 200);
  await left; // the recheck applies the private-thread rule, not VIEW_CHANNEL alone
  t.match(await roomAck(socket, 'join_channel', thread.id), { ok: false, error: 'Not a member of this private thread' });
});

t.test('forum posts: a thread with its opener; replies in it; media needs a file', async (t) => {
  const guild = await createGuild(env, 'forum');
  const member = await addMember(env, guild);
  await grantRole(env, guild, member, Flags.SEND_MESSAGES_IN_THREADS, 'replier');
  const forum = await createChannel(guild, { name: 'ideas', type: 'forum' });
  const media = await createChannel(guild, { name: 'pics', type: 'media' });
  const watcher = await listenToServer(env, t, member.cookie, guild.server.id);

  assertError(t, await call('POST', `/api/channels/${forum.id}/posts`, member, { content: 'no title' }), 400, 'Post title required');
  assertError(t, await call('POST', `/api/channels/${guild.general.id}/posts`, member, { title: 't', content: 'x' }), 400, /forum or media/);
  assertError(t, await call('POST', `/api/channels/${media.id}/posts`, member, { title: 't', content: 'x' }), 400, /attachment/);
  assertError(t, await call('POST', `/api/channels/${forum.id}/posts`, member, { title: 'only a title' }), 400, 'Message must have content or attachments');

  const announced = nextEvent(watcher, 'thread_created');
  const noted = nextEvent(watcher, 'channel_notification', { filter: (p) => p.serverId === guild.server.id });
  const res = await call('POST', `/api/channels/${forum.id}/posts`, member, { title: ' Dark mode ', content: 'please' });
  t.equal(res.status, 201);
  const post = res.body;
  t.match(post, { name: 'Dark mode', type: 'thread', parent_id: forum.id, parent_message_id: null, reply_count: 0 });
  t.match(post.message, { channel_id: post.id, content: 'please', user_id: member.user.id });
  t.match(await announced, { serverId: guild.server.id, parentChannelId: forum.id, messageId: null, thread: { id: post.id } });
  t.match(await noted, { channelId: post.id, messageId: post.message.id, content: 'Dark mode' });

  await send(post.id, guild.owner, { content: 'agreed' });
  const older = (await call('POST', `/api/channels/${forum.id}/posts`, member, { title: 'Second', content: 'x' })).body;
  const list = await call('GET', `/api/channels/${forum.id}/posts`, member);
  t.same(list.body.map((p: { id: string }) => p.id), [older.id, post.id], 'most recently active first');
  t.match(list.body[1], { reply_count: 1 }, 'replies do not count the opener');
  assertError(t, await call('GET', `/api/channels/${guild.general.id}/posts`, member), 400);
});

/** Resolves once a query of this test's database waits for a row lock (asked round trip by round trip: Postgres has no event for it). */
async function untilRowLockWait(timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
  }
  throw new Error('no query is waiting for a row lock');
}

t.test('a channel deleted while a thread is being created takes no orphan with it', async (t) => {
  const guild = await createGuild(env, 'race');
  const doomed = await createChannel(guild, { name: 'doomed' });
  const parent = await send(doomed.id, guild.owner, { content: 'thread me' });
  let creating: Promise<Awaited<ReturnType<typeof call>>> | undefined;
  // The delete holds the channel's lock while the thread's creation waits for it (FOR SHARE).
  await sql.begin(async (tx) => {
    await channelsRepo(tx).lockWithThreads(doomed.id);
    creating = call('POST', `/api/messages/${parent.id}/thread`, guild.owner, { name: 'late' });
    await untilRowLockWait();
    await channelsRepo(tx).remove(doomed.id);
  });
  assertError(t, await creating!, 404, /not found/);
  t.same(await sql`SELECT id FROM channels WHERE parent_id = ${doomed.id} OR parent_message_id = ${parent.id}`, [], 'no thread without its parent');
});

t.test('a message sent while its channel is being deleted is refused, not orphaned', async (t) => {
  const guild = await createGuild(env, 'race2');
  const doomed = await createChannel(guild, { name: 'doomed' });
  let sending: Promise<Awaited<ReturnType<typeof call>>> | undefined;
  await sql.begin(async (tx) => {
    await channelsRepo(tx).lockWithThreads(doomed.id);
    sending = call('POST', `/api/messages/${doomed.id}`, guild.owner, { content: 'too late' });
    await untilRowLockWait();
    await channelsRepo(tx).remove(doomed.id);
  });
  assertError(t, await sending!, 404, 'Channel not found');
});

t.test('private thread members: added by a member, removed by themselves or a thread manager', async (t) => {
  const guild = await createGuild(env, 'tmembers');
  const creator = await memberWith(env, guild, Flags.CREATE_PRIVATE_THREADS | Flags.SEND_MESSAGES_IN_THREADS);
  const friend = await memberWith(env, guild, Flags.SEND_MESSAGES_IN_THREADS, 'Friend');
  const blind = await addMember(env, guild);
  const stranger = await env.register('stranger');
  const parent = await send(guild.general.id, creator, { content: 'p' });
  const thread = (await call('POST', `/api/messages/${parent.id}/thread`, creator, { name: 'inner', isPrivate: true })).body;
  const publicThread = (await call('POST', `/api/messages/${(await send(guild.general.id, creator, { content: 'q' })).id}/thread`, guild.owner, { name: 'open' })).body;
  await call('PUT', `/api/channels/${guild.general.id}/permissions/${blind.user.id}`, guild.owner, { target_type: 'member', deny: Flags.VIEW_CHANNEL.toString() });
  const path = (userId: string, id = thread.id) => `/api/channels/${id}/members/${userId}`;

  assertError(t, await call('PUT', path(friend.user.id), friend), 403, 'Not a member of this private thread');
  assertError(t, await call('PUT', path(stranger.user.id), creator), 404, 'Member not found');
  assertError(t, await call('PUT', path(blind.user.id), creator), 400, /cannot view/);
  assertError(t, await call('PUT', path(friend.user.id, publicThread.id), creator), 400, 'Only private threads have members');

  const friendSocket = await env.connect(friend.cookie);
  const appeared = nextEvent(friendSocket, 'thread_created');
  t.equal((await call('PUT', path(friend.user.id), creator)).status, 204);
  t.match(await appeared, { serverId: guild.server.id, parentChannelId: guild.general.id, messageId: parent.id, thread: { id: thread.id } });
  t.equal((await call('PUT', path(friend.user.id), creator)).status, 204, 'adding again is fine');
  t.equal((await call('GET', `/api/messages/${thread.id}`, friend)).status, 200, 'the new member reads it');
  t.equal((await call('POST', `/api/messages/${thread.id}`, friend, { content: 'hi' })).status, 201);
  t.same(await roomAck(friendSocket, 'join_channel', thread.id), { ok: true });

  assertError(t, await call('DELETE', path(creator.user.id), friend), 403, /MANAGE_THREADS/);
  const left = leavesRoom(env.gateway, rooms.channel(thread.id), friendSocket.id!);
  t.equal((await call('DELETE', path(friend.user.id), friend)).status, 204, 'leaving oneself');
  await left;
  assertError(t, await call('GET', `/api/messages/${thread.id}`, friend), 403, 'Not a member of this private thread');
  t.equal((await call('PUT', path(friend.user.id), creator)).status, 204);
  t.equal((await call('DELETE', path(friend.user.id), guild.owner)).status, 204, 'a thread manager removes others');
  assertError(t, await call('DELETE', path(friend.user.id), guild.owner), 404, 'Member not found');
});
