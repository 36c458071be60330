// DM and group-DM routes against a real API, Postgres, Redis (jobs, presence), the S3 test server
// and socket.io clients: opening (race-safe), group limits, the conversation list, message history,
// send/edit/delete with every refusal, attachments served back, and who hears which event: a third
// party can neither read a conversation nor receive any of its events.
import t, { type Test } from 'tap';
import { Queue } from 'bullmq';
import { QUEUE, bullConnection, type JobName } from '@nexusguild/shared/jobs';
import { addMember, createGuild, listenToServer, type Registered } from '../../../../../test/guild.ts';
import { assertError, multipart, nextEvent, record, setup, type TestSocket } from '../../../../../test/harness.ts';

const env = await setup(t);
const sql = env.resources.sql;
const queue = new Queue(QUEUE, { connection: bullConnection(env.config.redisUrl), prefix: env.resources.keys.bullPrefix });
t.teardown(() => queue.close());

const MESSAGE_KEYS = [
  'attachments', 'avatar', 'channel_id', 'content', 'created_at', 'display_name', 'dm_id', 'edited_at', 'id', 'is_pinned', 'reply_to_content',
  'reply_to_id', 'reply_to_username', 'sender_id', 'thread_channel_id', 'thread_reply_count', 'type', 'updated_at', 'user_id', 'username',
];

const call = (method: string, path: string, who?: Registered, json?: unknown) =>
  env.request(method, path, { cookie: who?.cookie, ...(json !== undefined ? { json } : {}) });

async function openDm(who: Registered, other: Registered) {
  const res = await call('POST', '/api/dm', who, { recipientId: other.user.id });
  if (res.status !== 201 && res.status !== 200) throw new Error(`open failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

async function createGroup(who: Registered, others: Registered[], name?: string) {
  const res = await call('POST', '/api/group-dm', who, { name, memberIds: others.map((o) => o.user.id) });
  if (res.status !== 201) throw new Error(`group failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

async function send(dmId: string, who: Registered, content: string) {
  const res = await call('POST', `/api/dm/${dmId}/messages`, who, { content });
  if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; content: string };
}

/** A connected socket of `who`, closed when `t` ends. */
async function socketOf(t: Test, who: Registered): Promise<TestSocket> {
  const socket = await env.connect(who.cookie);
  t.teardown(() => socket.close());
  return socket;
}

async function jobsNamed(name: JobName): Promise<Record<string, unknown>[]> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.filter((j) => j.name === name).map((j) => j.data as Record<string, unknown>);
}

t.test('every route needs a session', async (t) => {
  const routes: [string, string][] = [
    ['GET', '/api/dm'], ['POST', '/api/dm'], ['GET', '/api/group-dm'], ['POST', '/api/group-dm'],
    ['GET', '/api/dm/1/messages'], ['POST', '/api/dm/1/messages'], ['PATCH', '/api/dm/1/messages/2'], ['DELETE', '/api/dm/1/messages/2'],
  ];
  for (const [method, path] of routes) {
    const res = await env.request(method, path, { json: {} });
    t.equal(res.status, 401, `${method} ${path}`);
  }
});

t.test('opening a DM: refusals, 201 then 200 for either side, the shape, dm_created to the recipient only', async (t) => {
  const [a, b, c] = [await env.register('a'), await env.register('b'), await env.register('c')];
  assertError(t, await call('POST', '/api/dm', a, {}), 400, 'userId is required');
  assertError(t, await call('POST', '/api/dm', a, { recipientId: a.user.id }), 400, 'Cannot DM yourself');
  assertError(t, await call('POST', '/api/dm', a, { userId: '999999999' }), 404, 'User not found');
  assertError(t, await call('POST', '/api/dm', a, { recipientId: 'abc' }), 400);
  assertError(t, await call('POST', '/api/dm', a, { recipientId: '123456789012345678901' }), 400, undefined, '21 digits');

  const [bSocket, cSocket] = [await socketOf(t, b), await socketOf(t, c)];
  const cSeen = record(cSocket, 'dm_created');
  const announced = nextEvent(bSocket, 'dm_created');
  const opened = await call('POST', '/api/dm', a, { recipientId: b.user.id });
  t.equal(opened.status, 201, 'a new conversation');
  const [low, high] = BigInt(a.user.id) < BigInt(b.user.id) ? [a.user.id, b.user.id] : [b.user.id, a.user.id];
  t.match(opened.body, {
    type: 'dm', partner_id: b.user.id, partner_username: b.user.username, partner_avatar: null, partner_status: 'online',
    last_message: '', user1_id: low, user2_id: high,
  });
  t.equal(opened.body.last_message_at, opened.body.created_at, 'no message yet: last activity is the creation');
  const event = await announced;
  t.match(event, { id: opened.body.id, type: 'dm', partner_id: a.user.id, partner_username: a.user.username }, 'the recipient sees the opener as partner');

  const again = await call('POST', '/api/dm', b, { userId: a.user.id });
  t.equal(again.status, 200, 'the existing conversation, from the other side');
  t.equal(again.body.id, opened.body.id);
  t.equal(again.body.partner_id, a.user.id);
  await env.flush(cSocket, c.user.id);
  t.same(cSeen, [], 'a third party hears nothing');
});

t.test('concurrent opens of one pair make one conversation', async (t) => {
  const [a, b] = [await env.register('a'), await env.register('b')];
  const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) =>
    i % 2 ? call('POST', '/api/dm', a, { recipientId: b.user.id }) : call('POST', '/api/dm', b, { userId: a.user.id })));
  t.same(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 201], 'one creation');
  t.equal(new Set(results.map((r) => r.body.id)).size, 1, 'one id');
  const [row] = await sql<{ n: number; members: number }[]>`
    SELECT count(*)::int AS n, (SELECT count(*)::int FROM channel_members WHERE channel_id = ${results[0]!.body.id}) AS members
    FROM channels WHERE type = 'dm' AND dm_key LIKE ${`%${a.user.id}%`} AND dm_key LIKE ${`%${b.user.id}%`}`;
  t.same(row, { n: 1, members: 2 });
});

t.test('group DMs: 2–10 members with the creator, duplicates removed, unknown users, group_dm_created to members only', async (t) => {
  const owner = await env.register('owner');
  const users = await Promise.all(Array.from({ length: 10 }, () => env.register('g')));
  const outsider = await env.register('out');

  assertError(t, await call('POST', '/api/group-dm', owner, { memberIds: [] }), 400, 'At least 1 other user is required');
  assertError(t, await call('POST', '/api/group-dm', owner, { memberIds: [owner.user.id, owner.user.id] }), 400, 'At least 1 other user is required');
  assertError(t, await call('POST', '/api/group-dm', owner, {}), 400, 'At least 1 other user is required');
  assertError(t, await call('POST', '/api/group-dm', owner, { memberIds: users.map((u) => u.user.id) }), 400, /at most 10 members/, '11 in all');
  assertError(t, await call('POST', '/api/group-dm', owner, { memberIds: [users[0]!.user.id, '999999999'] }), 400, 'One or more users not found');
  assertError(t, await call('POST', '/api/group-dm', owner, { memberIds: ['x1'] }), 400);
  assertError(t, await call('POST', '/api/group-dm', owner, { memberIds: [users[0]!.user.id], name: 'n'.repeat(101) }), 400, /at most 100/);
  t.equal((await sql`SELECT 1 FROM channels WHERE type = 'group_dm' AND owner_id = ${owner.user.id}`).length, 0, 'no refused group was made');

  const nine = users.slice(0, 9);
  const full = await call('POST', '/api/group-dm', owner, { userIds: nine.map((u) => u.user.id) });
  t.equal(full.status, 201, '10 in all, through userIds');
  t.equal(full.body.members.length, 10);

  const [s1, s2, sOut] = [await socketOf(t, users[0]!), await socketOf(t, users[1]!), await socketOf(t, outsider)];
  const outSeen = record(sOut, 'group_dm_created');
  const got = [nextEvent(s1, 'group_dm_created'), nextEvent(s2, 'group_dm_created')];
  const ids = [users[0]!.user.id, users[1]!.user.id];
  const made = await call('POST', '/api/group-dm', owner, { name: '  Trip  ', memberIds: [...ids, ids[0], owner.user.id] });
  t.equal(made.status, 201);
  t.match(made.body, { type: 'group', name: 'Trip', avatar: null, owner_id: owner.user.id, last_message: '' });
  t.same(made.body.members.map((m: { id: string }) => m.id).sort(), [owner.user.id, ...ids].sort(), 'creator added, duplicates removed');
  t.same(made.body.members.find((m: { id: string }) => m.id === ids[0]), { id: ids[0], username: users[0]!.user.username, avatar: null, status: 'online' });
  for (const p of got) t.same(await p, made.body, 'each member hears of it');
  await env.flush(sOut, outsider.user.id);
  t.same(outSeen, [], 'an outsider hears nothing');

  const nameless = await call('POST', '/api/group-dm', owner, { memberIds: [ids[0]] });
  t.equal(nameless.body.name, null, 'a name is optional');
  const groups = await call('GET', '/api/group-dm', users[0]);
  t.same(groups.body.map((g: { id: string }) => g.id).sort(), [full.body.id, made.body.id, nameless.body.id].sort(), 'the alias lists groups only');
});

t.test('GET /api/dm: both kinds, newest activity first, last message, live partner status', async (t) => {
  const [me, b, c, d] = [await env.register('me'), await env.register('b'), await env.register('c'), await env.register('d')];
  const withB = await openDm(me, b);
  const withC = await openDm(me, c);
  const group = await createGroup(me, [b, d], 'crew');
  await send(withB.id, b, 'hello from b');
  await send(withB.id, me, 'latest to b');

  // Presence reaches the list: c comes online (seen through a shared server's presence_update).
  const guild = await createGuild(env);
  await addMember(env, guild, me);
  await addMember(env, guild, c);
  const observer = await listenToServer(env, t, me.cookie, guild.server.id);
  const online = nextEvent(observer, 'presence_update', { filter: (p) => p.userId === c.user.id && p.status === 'online' });
  await socketOf(t, c);
  await online;

  const list = await call('GET', '/api/dm', me);
  t.equal(list.status, 200);
  t.same(list.body.map((x: { id: string }) => x.id), [withB.id, group.id, withC.id], 'by last activity: a message, then creation');
  const [first, second, third] = list.body;
  t.match(first, { type: 'dm', partner_id: b.user.id, last_message: 'latest to b', partner_status: 'offline' });
  t.not(first.last_message_at, first.created_at, 'last_message_at is the newest message');
  t.match(second, { type: 'group', name: 'crew', owner_id: me.user.id, last_message: '' });
  t.equal(second.members.length, 3);
  t.match(third, { type: 'dm', partner_id: c.user.id, partner_status: 'online' });
  t.same((await call('GET', '/api/dm', d)).body.map((x: { id: string }) => x.id), [group.id], 'only conversations one takes part in');
  t.same((await call('GET', '/api/dm', await env.register('new'))).body, [], 'none yet');
});

t.test('messages: history pages, send, edit, delete, every refusal; events reach participants only', async (t) => {
  const [a, b, c, d] = [await env.register('a'), await env.register('b'), await env.register('c'), await env.register('d')];
  const dm = await openDm(a, b);
  const other = await openDm(a, d);
  const guild = await createGuild(env);

  // A third party: 403 on every route, whether the id is a DM, a server channel or nothing.
  const sent = await send(dm.id, a, 'first');
  for (const dmId of [dm.id, guild.general.id, '424242']) {
    assertError(t, await call('GET', `/api/dm/${dmId}/messages`, c), 403, 'Access denied', `GET ${dmId}`);
    assertError(t, await call('POST', `/api/dm/${dmId}/messages`, c, { content: 'x' }), 403, 'Access denied');
    assertError(t, await call('PATCH', `/api/dm/${dmId}/messages/${sent.id}`, c, { content: 'x' }), 403, 'Access denied');
    assertError(t, await call('DELETE', `/api/dm/${dmId}/messages/${sent.id}`, c), 403, 'Access denied');
  }
  assertError(t, await call('GET', '/api/dm/abc/messages', a), 400);
  assertError(t, await call('GET', `/api/dm/${dm.id}/messages?before=x`, a), 400);

  // Sending: shape, events to both participants (every socket of theirs), nothing to the third.
  const [aSocket, bSocket, cSocket] = [await socketOf(t, a), await socketOf(t, b), await socketOf(t, c)];
  const cSeen = ['dm_message_created', 'dm_message_updated', 'dm_message_deleted'].map((e) => record(cSocket, e as 'dm_message_created'));
  assertError(t, await call('POST', `/api/dm/${dm.id}/messages`, a, { content: '   ' }), 400, 'Message must have content or attachments');
  assertError(t, await call('POST', `/api/dm/${dm.id}/messages`, a, {}), 400, 'Message must have content or attachments');
  assertError(t, await call('POST', `/api/dm/${dm.id}/messages`, a, { content: 'x'.repeat(2001) }), 400, /at most 2000/);
  const toA = nextEvent(aSocket, 'dm_message_created');
  const toB = nextEvent(bSocket, 'dm_message_created');
  const res = await call('POST', `/api/dm/${dm.id}/messages`, b, { content: `  ${'y'.repeat(2000)}  ` });
  t.equal(res.status, 201);
  t.same(Object.keys(res.body).sort(), MESSAGE_KEYS, 'the Message Object plus dm_id, sender_id, type');
  t.match(res.body, { dm_id: dm.id, channel_id: dm.id, sender_id: b.user.id, user_id: b.user.id, username: b.user.username, type: 'dm', content: 'y'.repeat(2000), attachments: [], edited_at: null });
  t.same(await toA, res.body, 'the sender\'s other socket hears it');
  t.same(await toB, res.body, 'the recipient hears it');
  t.same(await jobsNamed('aggregate-unread').then((jobs) => jobs.filter((j) => j.channelId === dm.id)), [], 'no unread aggregation for DMs');

  // A reply within the DM; one to another conversation's message is a 400.
  const reply = await call('POST', `/api/dm/${dm.id}/messages`, a, { content: 'reply', replyTo: sent.id });
  t.match(reply.body, { reply_to_id: sent.id, reply_to_content: 'first' });
  const elsewhere = await send(other.id, a, 'elsewhere');
  assertError(t, await call('POST', `/api/dm/${dm.id}/messages`, a, { content: 'r', replyTo: elsewhere.id }), 400, /replyTo/);

  // Editing: the sender only; a message of another conversation is not found here.
  assertError(t, await call('PATCH', `/api/dm/${dm.id}/messages/${sent.id}`, b, { content: 'hijack' }), 404, 'Message not found or not yours');
  assertError(t, await call('PATCH', `/api/dm/${dm.id}/messages/${elsewhere.id}`, a, { content: 'x' }), 404, 'Message not found or not yours');
  assertError(t, await call('PATCH', `/api/dm/${dm.id}/messages/999999`, a, { content: 'x' }), 404, 'Message not found or not yours');
  assertError(t, await call('PATCH', `/api/dm/${dm.id}/messages/${sent.id}`, a, { content: ' ' }), 400);
  const updatedA = nextEvent(aSocket, 'dm_message_updated');
  const updatedB = nextEvent(bSocket, 'dm_message_updated');
  const edited = await call('PATCH', `/api/dm/${dm.id}/messages/${sent.id}`, a, { content: 'first, edited' });
  t.equal(edited.status, 200);
  t.match(edited.body, { id: sent.id, dm_id: dm.id, content: 'first, edited', type: 'dm' });
  t.type(edited.body.edited_at, 'string');
  t.equal(edited.body.updated_at, edited.body.edited_at);
  t.same(await updatedA, edited.body);
  t.same(await updatedB, edited.body);

  // Deleting: the sender only; both spellings in the event; gone from history.
  assertError(t, await call('DELETE', `/api/dm/${dm.id}/messages/${sent.id}`, b), 404, 'Message not found or not yours');
  const deletedB = nextEvent(bSocket, 'dm_message_deleted');
  const del = await call('DELETE', `/api/dm/${dm.id}/messages/${sent.id}`, a);
  t.equal(del.status, 204);
  t.same(await deletedB, { messageId: sent.id, dmId: dm.id, message_id: sent.id, dm_id: dm.id });
  assertError(t, await call('DELETE', `/api/dm/${dm.id}/messages/${sent.id}`, a), 404, 'Message not found or not yours');
  const history = await call('GET', `/api/dm/${dm.id}/messages`, b);
  t.same(history.body.map((m: { id: string }) => m.id), [res.body.id, reply.body.id]);
  t.equal(history.body[1].reply_to_id, null, 'the reply outlives its target');

  await env.flush(cSocket, c.user.id);
  t.same(cSeen, [[], [], []], 'the third party received no dm_* event');
});

t.test('history pages: oldest→newest, before/after cursors, limits clamped', async (t) => {
  const [a, b] = [await env.register('a'), await env.register('b')];
  const dm = await openDm(a, b);
  const ids: string[] = [];
  for (let i = 0; i < 6; i += 1) ids.push((await send(dm.id, i % 2 ? a : b, `m${i}`)).id);
  const page = async (query: string) => (await call('GET', `/api/dm/${dm.id}/messages${query}`, b)).body.map((m: { id: string }) => m.id);
  t.same(await page(''), ids, 'all, oldest first');
  t.same(await page('?limit=2'), ids.slice(4), 'the newest two');
  t.same(await page(`?limit=2&before=${ids[4]}`), ids.slice(2, 4), 'older than a cursor');
  t.same(await page(`?limit=2&after=${ids[1]}`), ids.slice(2, 4), 'newer than a cursor');
  t.same(await page(`?before=${ids[5]}&after=${ids[2]}`), ids.slice(3, 5), 'between two cursors');
  t.same(await page('?limit=0'), ids.slice(5), 'limit below 1 is 1');
  t.same(await page('?limit=1000'), ids, 'limit above 100 is 100');
});

t.test('group messages carry type "group" and reach every member, nobody else', async (t) => {
  const [owner, m1, m2, out] = [await env.register('o'), await env.register('m'), await env.register('m'), await env.register('x')];
  const group = await createGroup(owner, [m1, m2]);
  const [s1, s2, sOut] = [await socketOf(t, m1), await socketOf(t, m2), await socketOf(t, out)];
  const outSeen = record(sOut, 'dm_message_created');
  const got = [nextEvent(s1, 'dm_message_created'), nextEvent(s2, 'dm_message_created')];
  const msg = await call('POST', `/api/dm/${group.id}/messages`, owner, { content: 'hi all' });
  t.equal(msg.status, 201);
  t.match(msg.body, { dm_id: group.id, type: 'group', sender_id: owner.user.id });
  for (const p of got) t.same(await p, msg.body);
  assertError(t, await call('GET', `/api/dm/${group.id}/messages`, out), 403, 'Access denied');
  t.same((await call('GET', `/api/dm/${group.id}/messages`, m2)).body.map((m: { id: string }) => m.id), [msg.body.id]);
  await env.flush(sOut, out.user.id);
  t.same(outSeen, []);
});

t.test('attachments in a DM: stored under the DM, served back, processed, removed with the message', async (t) => {
  const [a, b] = [await env.register('a'), await env.register('b')];
  const dm = await openDm(a, b);
  const bytes = Buffer.from('%PDF-1.4 not really a pdf, just bytes\n');
  const body = await multipart([['content', ''], ['files', bytes, 'notes.pdf', 'application/pdf']]);
  const res = await env.request('POST', `/api/dm/${dm.id}/messages`, { cookie: a.cookie, ...body });
  t.equal(res.status, 201, 'a file alone is a message');
  t.equal(res.body.content, '');
  const [file] = res.body.attachments;
  t.match(file, { filename: 'notes.pdf', size: bytes.length, content_type: 'application/pdf' });
  t.match(file.url, new RegExp(`^/uploads/attachments/${dm.id}/${file.id}-[0-9a-f]{16}/notes.pdf$`), 'key under the DM');
  const served = await env.app.inject({ method: 'GET', url: file.url });
  t.equal(served.statusCode, 200);
  t.ok(served.rawPayload.equals(bytes), 'the same bytes come back');
  t.ok((await jobsNamed('process-attachments')).some((j) => j.messageId === res.body.id), 'process-attachments enqueued');

  const edited = await call('PATCH', `/api/dm/${dm.id}/messages/${res.body.id}`, a, { content: '' });
  t.equal(edited.status, 200, 'text may be emptied while a file remains');

  const key = file.url.slice('/uploads/'.length);
  t.equal((await call('DELETE', `/api/dm/${dm.id}/messages/${res.body.id}`, a)).status, 204);
  const deletes = (await jobsNamed('delete-objects')).map((j) => j.keys as string[]);
  t.ok(deletes.some((keys) => keys.includes(key)), 'the object is queued for removal');

  const empty = await multipart([['content', '']]);
  assertError(t, await env.request('POST', `/api/dm/${dm.id}/messages`, { cookie: a.cookie, ...empty }), 400, 'Message must have content or attachments');
  const wrongField = await multipart([['attachment', bytes, 'x.bin']]);
  assertError(t, await env.request('POST', `/api/dm/${dm.id}/messages`, { cookie: a.cookie, ...wrongField }), 400, /Unexpected field/);
  const outsider = await env.register('c');
  assertError(t, await env.request('POST', `/api/dm/${dm.id}/messages`, { cookie: outsider.cookie, ...body }), 403, 'Access denied');
});

t.test('reactions on DM messages: add, list, remove (path or body), refusals, events to participants only', async (t) => {
  const [a, b, c, d] = [await env.register('a'), await env.register('b'), await env.register('c'), await env.register('d')];
  const dm = await openDm(a, b);
  const elsewhere = await openDm(a, d);
  const msg = await send(dm.id, a, 'react to me');
  const foreign = await send(elsewhere.id, a, 'not here');
  const base = `/api/dm/${dm.id}/messages/${msg.id}/reactions`;

  for (const [method, path] of [['GET', base], ['POST', base], ['DELETE', base], ['DELETE', `${base}/x`]] as const) {
    t.equal((await env.request(method, path, { json: { emoji: '👍' } })).status, 401, `${method} ${path} needs a session`);
    assertError(t, await call(method, path, c, { emoji: '👍' }), 403, 'Access denied', `${method} ${path} by a third party`);
  }
  assertError(t, await call('POST', `/api/dm/${dm.id}/messages/${foreign.id}/reactions`, a, { emoji: '👍' }), 404, 'Message not found');
  assertError(t, await call('GET', `/api/dm/${dm.id}/messages/999999/reactions`, a), 404, 'Message not found');
  assertError(t, await call('POST', base, a, { emoji: '  ' }), 400, 'Emoji is required');
  assertError(t, await call('POST', base, a, { emoji: 'abc' }), 400, /emoji must be/);
  assertError(t, await call('POST', base, a, { emoji: 'custom:1:nope' }), 400, 'Unknown custom emoji');

  const [sa, sb, sc] = [await socketOf(t, a), await socketOf(t, b), await socketOf(t, c)];
  const cSaw = [record(sc, 'dm_reaction_added'), record(sc, 'dm_reaction_removed')];
  const addedToA = nextEvent(sa, 'dm_reaction_added');
  const addedToB = nextEvent(sb, 'dm_reaction_added');
  const added = await call('POST', base, b, { emoji: '👍' });
  t.equal(added.status, 201);
  const aggregate = { emoji: '👍', count: '1', users: [{ userId: b.user.id, username: b.user.username }] };
  t.same(added.body, aggregate);
  const event = { messageId: msg.id, emoji: '👍', userId: b.user.id, dmId: dm.id, reactions: [aggregate] };
  t.same(await addedToA, event, 'the union payload to the other participant');
  t.same(await addedToB, event, 'and to the reactor');
  assertError(t, await call('POST', base, b, { emoji: '👍' }), 400, 'You already reacted with this emoji');
  t.equal((await call('POST', base, a, { emoji: '👍' })).body.count, '2');
  t.same((await call('GET', base, a)).body.map((r: { count: string }) => r.count), ['2']);

  const removedToA = nextEvent(sa, 'dm_reaction_removed');
  t.equal((await call('DELETE', `${base}/${encodeURIComponent('👍')}`, b)).status, 204, 'removal by path');
  t.same(await removedToA, { messageId: msg.id, emoji: '👍', userId: b.user.id, dmId: dm.id, reactions: [{ emoji: '👍', count: '1', users: [{ userId: a.user.id, username: a.user.username }] }] });
  assertError(t, await call('DELETE', `${base}/${encodeURIComponent('👍')}`, b), 404, 'Reaction not found');
  t.equal((await call('DELETE', base, a, { emoji: '👍' })).status, 204, 'removal by body');
  assertError(t, await call('DELETE', base, a, {}), 400, 'Emoji is required');
  t.same((await call('GET', base, b)).body, []);

  await env.flush(sc, c.user.id);
  t.same(cSaw, [[], []], 'the third party received nothing');
});
