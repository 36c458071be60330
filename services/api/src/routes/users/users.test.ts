// User routes against a real API, Postgres, Redis and socket.io clients: custom status (both field
// names, trimming, clearing, the event to the user's servers), password change (wrong current,
// length, the other sessions and their sockets end, this one stays) and nicknames (own with
// CHANGE_NICKNAME, another's with MANAGE_NICKNAMES below the caller, the event and the member list).
import t from 'tap';
import { DEFAULT_EVERYONE_PERMISSIONS, Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, listenToServer, memberWith, type GuildFixture } from '../../../../../test/guild.ts';
import { assertError, disconnected, nextEvent, record, setup } from '../../../../../test/harness.ts';

const env = await setup(t);

async function nicknameOf(g: GuildFixture, userId: string) {
  const res = await env.request('GET', `/api/servers/${g.server.id}/members`, { cookie: g.owner.cookie });
  return res.body.members.find((m: { id: string }) => m.id === userId)?.nickname;
}

t.test('every route needs a session', async (t) => {
  for (const [method, path] of [
    ['PATCH', '/api/users/me/status'], ['PATCH', '/api/users/me/password'], ['PATCH', '/api/users/me/nickname/1'], ['PATCH', '/api/servers/1/members/2'],
  ] as const) {
    assertError(t, await env.request(method, path, { json: {} }), 401, 'Authentication required', `${method} ${path}`);
  }
});

t.test('custom status', async (t) => {
  const g = await createGuild(env, 'status');
  const member = await addMember(env, g);
  const other = await createGuild(env, 'status2');
  await addMember(env, other, member);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const observer2 = await listenToServer(env, t, other.owner.cookie, other.server.id);
  const elsewhere = await createGuild(env, 'elsewhere');
  const stranger = await listenToServer(env, t, elsewhere.owner.cookie, elsewhere.server.id);
  const strangerSaw = record(stranger, 'custom_status_update');

  const got = [nextEvent(observer, 'custom_status_update'), nextEvent(observer2, 'custom_status_update')];
  const res = await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { status: '  On a break  ' } });
  t.equal(res.status, 200);
  t.equal(res.body.custom_status, 'On a break', 'trimmed');
  t.equal(res.body.id, member.user.id, 'the user object');
  t.notOk('password_hash' in res.body);
  for (const p of await Promise.all(got)) t.same(p, { userId: member.user.id, custom_status: 'On a break' }, 'to each of the user\'s server rooms');

  const viaAlias = await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { custom_status: 'Coding' } });
  t.equal(viaAlias.body.custom_status, 'Coding', 'custom_status is accepted too');
  const cleared = nextEvent(observer, 'custom_status_update', { filter: (p) => p.custom_status === null });
  const empty = await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { status: '   ' } });
  t.equal(empty.body.custom_status, null, 'empty clears it');
  await cleared;
  const nulled = await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { status: null } });
  t.equal(nulled.body.custom_status, null);

  // Barrier: the stranger's own server's news arrives after anything of the member's would have.
  const own = nextEvent(stranger, 'custom_status_update');
  await env.request('PATCH', '/api/users/me/status', { cookie: elsewhere.owner.cookie, json: { status: 'here' } });
  await own;
  t.same(strangerSaw.map((p) => p.userId), [elsewhere.owner.user.id], 'a non-member hears nothing of it');

  assertError(t, await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { status: 'x'.repeat(129) } }), 400, undefined, 'over 128');
  t.equal((await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { status: ` ${'x'.repeat(128)} ` } })).status, 200, '128 after trimming');
  assertError(t, await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: {} }), 400, 'status or custom_status is required');
  assertError(t, await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, json: { status: { text: 'x' } } }), 400, undefined, 'not a string');
  assertError(t, await env.request('PATCH', '/api/users/me/status', { cookie: member.cookie, payload: 'x', headers: { 'content-type': 'text/plain' } }), 415);
});

t.test('password change', async (t) => {
  const user = await env.register('pw');
  const login = async (password: string) => env.request('POST', '/api/auth/login', { json: { email: user.user.email, password } });
  const other = (await login(user.password)).cookie!;
  const otherSocket = await env.connect(other);
  const thisSocket = await env.connect(user.cookie);
  t.teardown(() => thisSocket.close());
  const change = (json: unknown) => env.request('PATCH', '/api/users/me/password', { cookie: user.cookie, json });

  assertError(t, await change({ currentPassword: 'wrong password', newPassword: 'another password' }), 401, 'Current password is incorrect');
  assertError(t, await change({ currentPassword: user.password, newPassword: 'short' }), 400, undefined, 'under 8 characters');
  assertError(t, await change({ currentPassword: user.password }), 400, undefined, 'missing newPassword');
  assertError(t, await change({ newPassword: 'another password' }), 400, undefined, 'missing currentPassword');
  t.equal((await env.request('GET', '/api/auth/me', { cookie: other })).status, 200, 'refusals end nothing');

  const gone = disconnected(otherSocket);
  const res = await change({ currentPassword: user.password, newPassword: 'another password' });
  t.equal(res.status, 200);
  t.same(res.body, { message: 'Password changed successfully' });
  await gone;
  t.pass('the other session\'s socket is disconnected');
  assertError(t, await env.request('GET', '/api/auth/me', { cookie: other }), 401, undefined, 'the other session ended');
  t.equal((await env.request('GET', '/api/auth/me', { cookie: user.cookie })).status, 200, 'this session stays');
  t.ok(thisSocket.connected, 'and so does its socket');
  assertError(t, await login(user.password), 401, undefined, 'the old password no longer works');
  t.equal((await login('another password')).status, 200, 'the new one does');
});

t.test('own nickname', async (t) => {
  const g = await createGuild(env, 'nick');
  const member = await addMember(env, g);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const set = (json: unknown, cookie = member.cookie, serverId = g.server.id) => env.request('PATCH', `/api/users/me/nickname/${serverId}`, { cookie, json });

  const event = nextEvent(observer, 'member_updated');
  const res = await set({ nickname: '  Nick  ' });
  t.equal(res.status, 200);
  t.match(res.body, { message: 'Nickname updated', nickname: 'Nick', userId: member.user.id, serverId: g.server.id });
  t.same(await event, { serverId: g.server.id, userId: member.user.id, nickname: 'Nick' }, 'member_updated to the server room');
  t.equal(await nicknameOf(g, member.user.id), 'Nick', 'the member list shows it');

  assertError(t, await set({ nickname: 'x'.repeat(33) }), 400, undefined, 'over 32');
  t.equal((await set({ nickname: '' })).body.nickname, null, 'empty clears it');
  t.equal(await nicknameOf(g, member.user.id), null);
  t.equal((await set({ nickname: 'Again' })).status, 200);
  t.equal((await set({ nickname: null })).body.nickname, null, 'null clears it');

  const stranger = await env.register();
  assertError(t, await set({ nickname: 'x' }, stranger.cookie), 403, 'You are not a member of this server');
  assertError(t, await set({ nickname: 'x' }, member.cookie, '123456789'), 404);
  assertError(t, await set({ nickname: 'x' }, member.cookie, 'abc'), 400);

  // Without CHANGE_NICKNAME (taken from @everyone), a member cannot; the owner still can.
  const everyone = await env.request('PATCH', `/api/servers/${g.server.id}/roles/${g.server.id}`, {
    cookie: g.owner.cookie, json: { permissions: (DEFAULT_EVERYONE_PERMISSIONS & ~Flags.CHANGE_NICKNAME).toString() },
  });
  t.equal(everyone.status, 200);
  assertError(t, await set({ nickname: 'x' }), 403, /CHANGE_NICKNAME/);
  t.equal((await set({ nickname: 'Boss' }, g.owner.cookie)).status, 200, 'the owner bypasses');
});

t.test('another member\'s nickname: MANAGE_NICKNAMES, below the caller', async (t) => {
  const g = await createGuild(env, 'mnick');
  const mod = await memberWith(env, g, Flags.MANAGE_NICKNAMES, 'Mod');
  const member = await addMember(env, g);
  const plain = await addMember(env, g);
  const set = (targetId: string, json: unknown, cookie = mod.cookie) => env.request('PATCH', `/api/servers/${g.server.id}/members/${targetId}`, { cookie, json });

  const res = await set(member.user.id, { nickname: 'Renamed' });
  t.equal(res.status, 200);
  t.equal(await nicknameOf(g, member.user.id), 'Renamed');
  assertError(t, await set(g.owner.user.id, { nickname: 'x' }), 403, /below your highest role/, 'not the owner');
  assertError(t, await set(member.user.id, { nickname: 'x' }, plain.cookie), 403, /MANAGE_NICKNAMES/, 'without the permission');
  assertError(t, await set((await env.register()).user.id, { nickname: 'x' }), 404, undefined, 'not a member');
  assertError(t, await set('abc', { nickname: 'x' }), 400);
  t.equal((await set(plain.user.id, { nickname: 'Self' }, plain.cookie)).status, 200, 'one\'s own through this route needs CHANGE_NICKNAME only');
  t.equal((await set(member.user.id, { nickname: 'Owner did it' }, g.owner.cookie)).status, 200, 'the owner may rename anyone');
});
