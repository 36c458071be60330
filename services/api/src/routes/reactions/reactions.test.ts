// Reaction routes against a real API, Postgres and socket.io clients: the aggregate and its order,
// add/remove with their events, emoji rules, the per-message cap under concurrency, permissions.
import t from 'tap';
import { Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, roomAck, sendMessage, type GuildFixture, type Registered } from '../../../../../test/guild.ts';
import { assertError, nextEvent, setup } from '../../../../../test/harness.ts';
import { MAX_DISTINCT } from './schema.ts';

const env = await setup(t);
const sql = env.resources.sql;

const call = (method: string, path: string, who?: Registered, json?: unknown) =>
  env.request(method, path, { cookie: who?.cookie, ...(json !== undefined ? { json } : {}) });

const send = async (channelId: string, who: Registered, content = 'hello'): Promise<string> => (await sendMessage(env, channelId, who, { content })).id;

const react = (messageId: string, who: Registered, emoji: unknown) => call('POST', `/api/reactions/${messageId}`, who, { emoji });
const unreact = (messageId: string, who: Registered, emoji: string) => call('DELETE', `/api/reactions/${messageId}/${encodeURIComponent(emoji)}`, who);

/** A custom emoji row (uploads are tested in the emoji routes). */
async function insertEmoji(guild: GuildFixture, name: string) {
  await sql`INSERT INTO custom_emojis (id, server_id, name, storage_key, content_type, created_by)
    VALUES (${env.resources.ids.next()}, ${guild.server.id}, ${name}, ${`emojis/${guild.server.id}/x.png`}, 'image/png', ${guild.owner.user.id})`;
}

t.test('every route needs a session; bad ids 400; unknown messages 404; non-members 403', async (t) => {
  for (const [method, path] of [['GET', '/api/reactions/1'], ['POST', '/api/reactions/1'], ['DELETE', '/api/reactions/1/x'], ['DELETE', '/api/reactions/1']] as const) {
    t.equal((await env.request(method, path, { json: { emoji: '👍' } })).status, 401, `${method} ${path}`);
  }
  const guild = await createGuild(env, 'rx');
  const owner = guild.owner;
  for (const bad of ['abc', '123456789012345678901']) {
    assertError(t, await call('GET', `/api/reactions/${bad}`, owner), 400);
    assertError(t, await react(bad, owner, '👍'), 400);
    assertError(t, await unreact(bad, owner, '👍'), 400);
  }
  assertError(t, await call('GET', '/api/reactions/12345', owner), 404, 'Message not found');
  assertError(t, await react('12345', owner, '👍'), 404, 'Message not found');
  assertError(t, await unreact('12345', owner, '👍'), 404, 'Message not found');

  const id = await send(guild.general.id, owner);
  t.equal((await react(id, owner, '👍')).status, 201);
  const stranger = await env.register('stranger');
  for (const res of [await call('GET', `/api/reactions/${id}`, stranger), await react(id, stranger, '👍'), await unreact(id, stranger, '👍')]) {
    assertError(t, res, 403, 'You are not a member of this server');
  }
});

t.test('add, list, remove: the aggregate and its events', async (t) => {
  const guild = await createGuild(env, 'agg');
  const owner = guild.owner;
  const member = await addMember(env, guild);
  const ch = guild.general.id;
  const id = await send(ch, owner);
  const socket = await env.connect(member.cookie);
  t.teardown(() => socket.close());
  t.same(await roomAck(socket, 'join_channel', ch), { ok: true });

  const first = nextEvent(socket, 'reaction_updated');
  const added = await react(id, owner, '👍');
  t.equal(added.status, 201);
  t.same(added.body, { emoji: '👍', count: '1', users: [{ userId: owner.user.id, username: owner.user.username }] }, 'the added aggregate');
  t.same(await first, { messageId: id, channelId: ch, reactions: [added.body] }, 'reaction_updated to the channel room');

  t.equal((await react(id, member, '🎉')).status, 201);
  const joined = await react(id, member, '👍');
  t.equal(joined.body.count, '2');
  t.same(joined.body.users.map((u: { userId: string }) => u.userId), [owner.user.id, member.user.id], 'users in the order they reacted');

  const dup = await react(id, owner, '👍');
  assertError(t, dup, 400, 'You already reacted with this emoji', 'a duplicate (G13)');

  const list = await call('GET', `/api/reactions/${id}`, member);
  t.equal(list.status, 200);
  t.same(list.body.map((r: { emoji: string; count: string }) => [r.emoji, r.count]), [['👍', '2'], ['🎉', '1']], 'ordered by the earliest reaction; count is a string');

  const removedEvent = nextEvent(socket, 'reaction_updated', { filter: (p) => p.reactions.length === 2 && p.reactions[0]!.count === '1' });
  const removed = await unreact(id, owner, '👍');
  t.equal(removed.status, 204);
  t.equal(removed.body, '');
  const after = await removedEvent;
  t.same(after.reactions[0]!.users, [{ userId: member.user.id, username: member.user.username }], 'only the member is left on 👍');
  assertError(t, await unreact(id, owner, '👍'), 404, 'Reaction not found', 'removing it again');
  assertError(t, await unreact(id, owner, '🎉'), 404, 'Reaction not found', "someone else's reaction is not yours to remove");

  // G13's fallback: DELETE with the emoji in the body.
  const byBody = await env.request('DELETE', `/api/reactions/${id}`, { cookie: member.cookie, json: { emoji: '🎉' } });
  t.equal(byBody.status, 204);
  const final = await call('GET', `/api/reactions/${id}`, member);
  t.same(final.body.map((r: { emoji: string }) => r.emoji), ['👍']);
});

t.test('emoji rules', async (t) => {
  const guild = await createGuild(env, 'rules');
  const owner = guild.owner;
  const other = await createGuild(env, 'rulesother');
  const id = await send(guild.general.id, owner);
  await insertEmoji(guild, 'party_1');
  await insertEmoji(other, 'elsewhere');

  for (const blank of [undefined, '', '   ']) assertError(t, await react(id, owner, blank), 400, 'Emoji is required', JSON.stringify(blank));
  for (const bad of ['abc', '👍 👍', '👍\u0000', '\u0007', 'x'.repeat(300), '👍'.repeat(40), 'custom:1:', `custom:${guild.server.id}:a`, 'custom:abc:party_1']) {
    assertError(t, await react(id, owner, bad), 400, undefined, `rejects ${JSON.stringify(bad.slice(0, 20))}`);
  }
  assertError(t, await react(id, owner, 42), 400, undefined, 'not a string');
  assertError(t, await react(id, owner, `custom:${guild.server.id}:nope`), 400, 'Unknown custom emoji');

  for (const ok of ['👍🏽', '👨‍👩‍👧', '🇫🇷', '1️⃣', '❤️', `custom:${guild.server.id}:party_1`, `custom:${other.server.id}:elsewhere`]) {
    const res = await react(id, owner, ok);
    t.equal(res.status, 201, `accepts ${ok}`);
    t.equal(res.body.emoji, ok);
  }
  const trimmed = await react(id, owner, '  🙂 ');
  t.equal(trimmed.body.emoji, '🙂', 'trimmed');
  t.equal((await unreact(id, owner, `custom:${guild.server.id}:party_1`)).status, 204, 'a custom emoji URL-encoded in the path');
});

t.test(`at most ${MAX_DISTINCT} distinct emoji per message, also under concurrent adds`, async (t) => {
  const guild = await createGuild(env, 'cap');
  const owner = guild.owner;
  const member = await addMember(env, guild);
  const id = await send(guild.general.id, owner);
  // 25 different emoji at once: exactly the cap get in.
  const emojis = Array.from({ length: 25 }, (_, i) => String.fromCodePoint(0x1f600 + i));
  const results = await Promise.all(emojis.map((e) => react(id, owner, e)));
  t.equal(results.filter((r) => r.status === 201).length, MAX_DISTINCT, `${MAX_DISTINCT} accepted`);
  const refused = results.filter((r) => r.status !== 201);
  t.ok(refused.every((r) => r.status === 400 && /at most 20/.test(r.body.error)), 'the rest are 400');
  const present = (await call('GET', `/api/reactions/${id}`, owner)).body as { emoji: string }[];
  t.equal(present.length, MAX_DISTINCT);
  t.equal((await react(id, member, present[0]!.emoji)).status, 201, 'joining an existing one still works at the cap');
});

t.test('permissions: READ_MESSAGE_HISTORY to see or react, ADD_REACTIONS for a new emoji, VIEW_CHANNEL for all', async (t) => {
  const guild = await createGuild(env, 'perm');
  const owner = guild.owner;
  const member = await addMember(env, guild);
  const ch = guild.general.id;
  const id = await send(ch, owner);
  t.equal((await react(id, owner, '👍')).status, 201);
  const override = (deny: bigint) => call('PUT', `/api/channels/${ch}/permissions/${guild.server.id}`, owner, { target_type: 'role', deny: deny.toString() });

  t.equal((await override(Flags.ADD_REACTIONS)).status, 200);
  assertError(t, await react(id, member, '🎉'), 403, 'Missing permission: ADD_REACTIONS', 'a new emoji');
  t.equal((await react(id, member, '👍')).status, 201, 'joining an existing reaction needs no ADD_REACTIONS (as in Discord)');
  t.equal((await unreact(id, member, '👍')).status, 204, 'and removing your own neither');

  t.equal((await override(Flags.READ_MESSAGE_HISTORY)).status, 200);
  assertError(t, await call('GET', `/api/reactions/${id}`, member), 403, 'Missing permission: READ_MESSAGE_HISTORY');
  assertError(t, await react(id, member, '👍'), 403, 'Missing permission: READ_MESSAGE_HISTORY');

  t.equal((await override(Flags.VIEW_CHANNEL)).status, 200);
  assertError(t, await call('GET', `/api/reactions/${id}`, member), 403, 'Missing permission: VIEW_CHANNEL');
  assertError(t, await unreact(id, member, '👍'), 403, 'Missing permission: VIEW_CHANNEL');
});

t.test('a private thread: only its members (and MANAGE_THREADS holders) see and react', async (t) => {
  const guild = await createGuild(env, 'priv');
  const owner = guild.owner;
  const member = await addMember(env, guild);
  const parent = await send(guild.general.id, owner, 'start');
  const thread = await call('POST', `/api/messages/${parent}/thread`, owner, { name: 'secret', isPrivate: true });
  t.equal(thread.status, 201);
  const id = await send(thread.body.id, owner, 'inside');
  t.equal((await react(id, owner, '👍')).status, 201, 'the creator reacts');
  assertError(t, await call('GET', `/api/reactions/${id}`, member), 403, /private thread/);
  assertError(t, await react(id, member, '👍'), 403, /private thread/);
  assertError(t, await unreact(id, member, '👍'), 403, /private thread/);
  t.equal((await call('PUT', `/api/channels/${thread.body.id}/members/${member.user.id}`, owner)).status < 300, true, 'added to the thread');
  t.equal((await react(id, member, '👍')).status, 201, 'a thread member reacts');
});
