// Moderation routes against a real API, Postgres and socket.io clients: kick, ban, unban and the
// ban list with their error statuses and the hierarchy of decisions G6, the events the server room
// receives, and that a kicked or banned user's sockets are out of the server's rooms at once.
import t from 'tap';
import { rooms } from '@nexusguild/shared/events';
import { Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, listenToServer, memberWith, roomAck, type GuildFixture } from '../../../../../test/guild.ts';
import { assertError, nextEvent, record, setup, type Reply } from '../../../../../test/harness.ts';

const env = await setup(t);
const publisher = env.resources.publisher;

const BAN_KEYS = ['avatar', 'banned_by', 'created_at', 'reason', 'server_id', 'user_id', 'username'];

/** Tries to join through a fresh invite of the owner. */
async function join(g: GuildFixture, cookie: string): Promise<Reply> {
  const invite = await env.request('POST', `/api/servers/${g.server.id}/invites`, { cookie: g.owner.cookie, json: {} });
  return env.request('POST', '/api/servers/join', { cookie, json: { code: invite.body.code } });
}

async function memberIds(g: GuildFixture): Promise<string[]> {
  const res = await env.request('GET', `/api/servers/${g.server.id}/members`, { cookie: g.owner.cookie });
  return res.body.members.map((m: { id: string }) => m.id);
}

const kick = (g: GuildFixture, userId: string, cookie: string) => env.request('DELETE', `/api/servers/${g.server.id}/members/${userId}`, { cookie });
const ban = (g: GuildFixture, userId: string, cookie: string, json?: unknown) =>
  env.request('POST', `/api/servers/${g.server.id}/bans/${userId}`, { cookie, json });
const unban = (g: GuildFixture, userId: string, cookie: string) => env.request('DELETE', `/api/servers/${g.server.id}/bans/${userId}`, { cookie });
const bans = (g: GuildFixture, cookie: string) => env.request('GET', `/api/servers/${g.server.id}/bans`, { cookie });

t.test('every route needs a session', async (t) => {
  for (const [method, path] of [
    ['DELETE', '/api/servers/1/members/2'], ['POST', '/api/servers/1/bans/2'], ['DELETE', '/api/servers/1/bans/2'], ['GET', '/api/servers/1/bans'],
  ] as const) {
    assertError(t, await env.request(method, path, { json: {} }), 401, 'Authentication required', `${method} ${path}`);
  }
});

t.test('bad ids are 400, never 500', async (t) => {
  const g = await createGuild(env);
  const { cookie } = g.owner;
  for (const bad of ['abc', '-1', '1.5', '123456789012345678901', '99999999999999999999']) {
    const id = encodeURIComponent(bad);
    assertError(t, await env.request('DELETE', `/api/servers/${id}/members/1`, { cookie }), 400, undefined, bad);
    assertError(t, await env.request('DELETE', `/api/servers/${g.server.id}/members/${id}`, { cookie }), 400, undefined, bad);
    assertError(t, await env.request('POST', `/api/servers/${g.server.id}/bans/${id}`, { cookie, json: {} }), 400, undefined, bad);
    assertError(t, await env.request('POST', `/api/servers/${id}/bans/1`, { cookie, json: {} }), 400, undefined, bad);
    assertError(t, await env.request('DELETE', `/api/servers/${g.server.id}/bans/${id}`, { cookie }), 400, undefined, bad);
    assertError(t, await env.request('GET', `/api/servers/${id}/bans`, { cookie }), 400, undefined, bad);
  }
});

t.test('kick', async (t) => {
  t.test('204; the member is gone with their roles; user_left to the room; their sockets leave every room of the server', async (t) => {
    const g = await createGuild(env);
    const target = await memberWith(env, g, Flags.SPEAK, 'Speaker');
    const watcher = await addMember(env, g);
    const targetSocket = await listenToServer(env, t, target.cookie, g.server.id);
    const watcherSocket = await listenToServer(env, t, watcher.cookie, g.server.id);
    t.same(await roomAck(targetSocket, 'join_channel', g.general.id), { ok: true });
    t.same(await roomAck(watcherSocket, 'join_channel', g.general.id), { ok: true });

    const left = nextEvent(watcherSocket, 'user_left');
    const res = await kick(g, target.user.id, g.owner.cookie);
    t.equal(res.status, 204);
    t.equal(res.body, '');
    t.same(await left, { userId: target.user.id, serverId: g.server.id });
    t.notOk((await memberIds(g)).includes(target.user.id), 'no longer a member');

    // After the kick, events of the server and its channels reach the watcher but not the kicked user.
    const roleCreated = record(targetSocket, 'role_created');
    const messageDeleted = record(targetSocket, 'message_deleted');
    const watcherRole = nextEvent(watcherSocket, 'role_created');
    const watcherMessage = nextEvent(watcherSocket, 'message_deleted');
    const role = await env.request('POST', `/api/servers/${g.server.id}/roles`, { cookie: g.owner.cookie, json: { name: 'After' } });
    publisher.emit(rooms.channel(g.general.id), 'message_deleted', { messageId: '1', channelId: g.general.id });
    t.equal((await watcherRole).id, role.body.id);
    await watcherMessage;
    await env.flush(targetSocket, target.user.id);
    t.same(roleCreated, [], 'the kicked user no longer gets server-room events');
    t.same(messageDeleted, [], 'nor channel-room events');
    t.match(await roomAck(targetSocket, 'join_server', g.server.id), { ok: false, error: 'You are not a member of this server' },
      'and cannot join the room again');

    const back = await join(g, target.cookie);
    t.equal(back.status, 200, 'a kicked user may rejoin by invite');
    const members = await env.request('GET', `/api/servers/${g.server.id}/members`, { cookie: g.owner.cookie });
    t.same(members.body.members.find((m: { id: string }) => m.id === target.user.id).roles, [], 'their roles went with the membership');
  });

  t.test('400 for oneself and for the owner; 404 for a non-member or unknown user', async (t) => {
    const g = await createGuild(env);
    const mod = await memberWith(env, g, Flags.KICK_MEMBERS);
    const stranger = await env.register('stranger');
    assertError(t, await kick(g, g.owner.user.id, g.owner.cookie), 400, 'Cannot kick yourself');
    assertError(t, await kick(g, mod.user.id, mod.cookie), 400, 'Cannot kick yourself');
    assertError(t, await kick(g, g.owner.user.id, mod.cookie), 400, 'Cannot kick the server owner');
    assertError(t, await kick(g, stranger.user.id, mod.cookie), 404, 'Member not found');
    assertError(t, await kick(g, '12345', mod.cookie), 404, 'Member not found');
    assertError(t, await env.request('DELETE', `/api/servers/12345/members/${mod.user.id}`, { cookie: mod.cookie }), 404, 'Server not found');
  });

  t.test('403 for a non-member, without KICK_MEMBERS, and up the hierarchy', async (t) => {
    const g = await createGuild(env);
    const plain = await addMember(env, g);
    const other = await addMember(env, g);
    const outsider = await env.register('outsider');
    assertError(t, await kick(g, plain.user.id, outsider.cookie), 403, 'You are not a member of this server');
    assertError(t, await kick(g, plain.user.id, other.cookie), 403, 'Missing permission: KICK_MEMBERS');
    const banner = await memberWith(env, g, Flags.BAN_MEMBERS, 'Banner');
    assertError(t, await kick(g, plain.user.id, banner.cookie), 403, 'Missing permission: KICK_MEMBERS');

    const mod = await memberWith(env, g, Flags.KICK_MEMBERS); // above Banner
    const peer = await addMember(env, g);
    await env.request('PUT', `/api/servers/${g.server.id}/members/${peer.user.id}/roles/${mod.role.id}`, { cookie: g.owner.cookie });
    const senior = await memberWith(env, g, 0n, 'Senior'); // above Mod
    assertError(t, await kick(g, peer.user.id, mod.cookie), 403, 'You can only kick members whose highest role is below yours', 'same top role');
    assertError(t, await kick(g, senior.user.id, mod.cookie), 403, 'highest role is below yours', 'higher role');
    t.ok((await memberIds(g)).includes(senior.user.id), 'a refused kick changes nothing');
    t.equal((await kick(g, banner.user.id, mod.cookie)).status, 204, 'a lower role is fine');
    t.equal((await kick(g, plain.user.id, mod.cookie)).status, 204, 'so is @everyone only');

    const admin = await memberWith(env, g, Flags.ADMINISTRATOR, 'Admin');
    await env.request('PATCH', `/api/servers/${g.server.id}/roles/reorder`, {
      cookie: g.owner.cookie, json: { order: [senior.role.id, mod.role.id, admin.role.id, banner.role.id] },
    });
    t.equal((await kick(g, senior.user.id, admin.cookie)).status, 204, 'an administrator kicks above their own role');
  });
});

t.test('ban', async (t) => {
  t.test('a member: 200 Ban; member_banned and user_left to the room; out of the rooms; cannot rejoin', async (t) => {
    const g = await createGuild(env);
    const target = await addMember(env, g);
    const watcher = await addMember(env, g);
    const targetSocket = await listenToServer(env, t, target.cookie, g.server.id);
    const watcherSocket = await listenToServer(env, t, watcher.cookie, g.server.id);
    t.same(await roomAck(targetSocket, 'join_channel', g.general.id), { ok: true });

    const banned = nextEvent(watcherSocket, 'member_banned');
    const left = nextEvent(watcherSocket, 'user_left');
    const res = await ban(g, target.user.id, g.owner.cookie, { reason: '  spam  ' });
    t.equal(res.status, 201);
    t.same(Object.keys(res.body).sort(), BAN_KEYS);
    t.match(res.body, {
      server_id: g.server.id, user_id: target.user.id, username: target.user.username, avatar: null,
      banned_by: g.owner.user.id, reason: 'spam', created_at: String,
    });
    t.ok(Math.abs(Date.parse(res.body.created_at) - Date.now()) < 60_000, 'created_at is now');
    t.same(await banned, { userId: target.user.id, serverId: g.server.id });
    t.same(await left, { userId: target.user.id, serverId: g.server.id });
    t.notOk((await memberIds(g)).includes(target.user.id), 'no longer a member');

    const roleCreated = record(targetSocket, 'role_created');
    const messageDeleted = record(targetSocket, 'message_deleted');
    const watcherRole = nextEvent(watcherSocket, 'role_created');
    await env.request('POST', `/api/servers/${g.server.id}/roles`, { cookie: g.owner.cookie, json: {} });
    publisher.emit(rooms.channel(g.general.id), 'message_deleted', { messageId: '1', channelId: g.general.id });
    await watcherRole;
    await env.flush(targetSocket, target.user.id);
    t.same(roleCreated, [], 'the banned user no longer gets server-room events');
    t.same(messageDeleted, [], 'nor channel-room events');

    assertError(t, await join(g, target.cookie), 403, 'You are banned from this server');
    t.notOk((await memberIds(g)).includes(target.user.id), 'the invite did not let them in');

    const list = await bans(g, g.owner.cookie);
    t.equal(list.status, 200);
    t.same(list.body, [res.body], 'a bare array of Ban objects');

    const again = await ban(g, target.user.id, g.owner.cookie, { reason: 'still spam' });
    t.equal(again.status, 201, 'banning again updates the ban');
    t.match(again.body, { user_id: target.user.id, reason: 'still spam' });
    t.equal((await bans(g, g.owner.cookie)).body.length, 1);
  });

  t.test('a non-member: 201, member_banned but no user_left, and they cannot join', async (t) => {
    const g = await createGuild(env);
    const stranger = await env.register('stranger');
    const watcher = await addMember(env, g);
    const watcherSocket = await listenToServer(env, t, watcher.cookie, g.server.id);
    const left = record(watcherSocket, 'user_left');
    const banned = nextEvent(watcherSocket, 'member_banned');
    const res = await ban(g, stranger.user.id, g.owner.cookie);
    t.equal(res.status, 201, 'no body is fine');
    t.match(res.body, { user_id: stranger.user.id, reason: null });
    t.same(await banned, { userId: stranger.user.id, serverId: g.server.id });
    await env.flush(watcherSocket, watcher.user.id);
    t.same(left, [], 'no user_left for someone who was never a member');
    assertError(t, await join(g, stranger.cookie), 403, 'You are banned from this server');
    const empty = await ban(g, stranger.user.id, g.owner.cookie, { reason: '   ' });
    t.equal(empty.body.reason, null, 'a blank reason is no reason');
  });

  t.test('400 for oneself, the owner and a bad body; 404 for an unknown user or server', async (t) => {
    const g = await createGuild(env);
    const mod = await memberWith(env, g, Flags.BAN_MEMBERS);
    const plain = await addMember(env, g);
    assertError(t, await ban(g, g.owner.user.id, g.owner.cookie), 400, 'Cannot ban yourself');
    assertError(t, await ban(g, mod.user.id, mod.cookie), 400, 'Cannot ban yourself');
    assertError(t, await ban(g, g.owner.user.id, mod.cookie), 400, 'Cannot ban the server owner');
    assertError(t, await ban(g, plain.user.id, mod.cookie, { reason: 'x'.repeat(513) }), 400);
    assertError(t, await ban(g, plain.user.id, mod.cookie, { reason: { text: 'x' } }), 400);
    assertError(t, await ban(g, '12345', mod.cookie), 404, 'User not found');
    assertError(t, await env.request('POST', `/api/servers/12345/bans/${plain.user.id}`, { cookie: mod.cookie, json: {} }), 404, 'Server not found');
    t.same((await bans(g, g.owner.cookie)).body, [], 'nothing was banned');
  });

  t.test('403 for a non-member, without BAN_MEMBERS, and up the hierarchy (for members only)', async (t) => {
    const g = await createGuild(env);
    const plain = await addMember(env, g);
    const outsider = await env.register('outsider');
    assertError(t, await ban(g, plain.user.id, outsider.cookie), 403, 'You are not a member of this server');
    const kicker = await memberWith(env, g, Flags.KICK_MEMBERS, 'Kicker');
    assertError(t, await ban(g, plain.user.id, kicker.cookie), 403, 'Missing permission: BAN_MEMBERS');
    const mod = await memberWith(env, g, Flags.BAN_MEMBERS); // above Kicker
    const senior = await memberWith(env, g, 0n, 'Senior');
    assertError(t, await ban(g, senior.user.id, mod.cookie), 403, 'You can only ban members whose highest role is below yours');
    t.ok((await memberIds(g)).includes(senior.user.id), 'a refused ban changes nothing');
    t.same((await bans(g, g.owner.cookie)).body, []);
    t.equal((await ban(g, kicker.user.id, mod.cookie)).status, 201, 'a lower role is fine');
    t.equal((await ban(g, outsider.user.id, mod.cookie)).status, 201, 'a non-member has no rank to check');
    const admin = await memberWith(env, g, Flags.ADMINISTRATOR, 'Admin');
    await env.request('PATCH', `/api/servers/${g.server.id}/roles/reorder`, {
      cookie: g.owner.cookie, json: { order: [senior.role.id, mod.role.id, admin.role.id, kicker.role.id] },
    });
    t.equal((await ban(g, senior.user.id, admin.cookie)).status, 201, 'an administrator bans above their own role');
  });
});

t.test('unban and the ban list', async (t) => {
  const g = await createGuild(env);
  const mod = await memberWith(env, g, Flags.BAN_MEMBERS);
  const plain = await addMember(env, g);
  const outsider = await env.register('outsider');
  const first = await env.register('first');
  const second = await env.register('second');
  await ban(g, first.user.id, mod.cookie, { reason: 'one' });
  await ban(g, second.user.id, mod.cookie);

  t.test('the list: BAN_MEMBERS; a bare array, newest first', async (t) => {
    const list = await bans(g, mod.cookie);
    t.equal(list.status, 200);
    t.same(list.body.map((b: { user_id: string }) => b.user_id), [second.user.id, first.user.id]);
    t.match(list.body[1], { server_id: g.server.id, username: first.user.username, banned_by: mod.user.id, reason: 'one' });
    assertError(t, await bans(g, plain.cookie), 403, 'Missing permission: BAN_MEMBERS');
    assertError(t, await bans(g, outsider.cookie), 403, 'You are not a member of this server');
    assertError(t, await env.request('GET', '/api/servers/12345/bans', { cookie: mod.cookie }), 404, 'Server not found');
  });

  t.test('unban: 204, the ban is gone and the user may join again; 204 without a ban too', async (t) => {
    const res = await unban(g, first.user.id, mod.cookie);
    t.equal(res.status, 204);
    t.equal(res.body, '');
    t.same((await bans(g, mod.cookie)).body.map((b: { user_id: string }) => b.user_id), [second.user.id]);
    t.equal((await join(g, first.cookie)).status, 200, 'unbanned, they may rejoin by invite');
    t.equal((await unban(g, first.user.id, mod.cookie)).status, 204, 'no ban: still 204');
    t.equal((await unban(g, '12345', mod.cookie)).status, 204, 'unknown user: still 204');
  });

  t.test('unban: 403 for a non-member and without BAN_MEMBERS; 404 for an unknown server', async (t) => {
    assertError(t, await unban(g, second.user.id, plain.cookie), 403, 'Missing permission: BAN_MEMBERS');
    assertError(t, await unban(g, second.user.id, outsider.cookie), 403, 'You are not a member of this server');
    assertError(t, await env.request('DELETE', `/api/servers/12345/bans/${second.user.id}`, { cookie: mod.cookie }), 404, 'Server not found');
    t.equal((await bans(g, mod.cookie)).body.length, 1, 'the ban stays');
  });
});
