// Server routes against a real API, Postgres and socket.io clients: the server list, creation with
// its defaults, settings, deletion, invites and joining, leaving, the member list, and the events
// each change sends to the server room (and to no one outside it).
import t from 'tap';
import { ALL_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS } from '@nexusguild/shared/permissions';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import { addMember, createGuild, roomAck } from '../../../../../test/guild.ts';
import { nextEvent, setup, untilBlocked } from '../../../../../test/harness.ts';

const env = await setup(t);
const sql = env.resources.sql;

t.test('every route needs a session', async (t) => {
  const routes: [string, string][] = [
    ['GET', '/api/servers'], ['POST', '/api/servers'], ['GET', '/api/servers/1'], ['PATCH', '/api/servers/1'],
    ['DELETE', '/api/servers/1'], ['POST', '/api/servers/join'], ['POST', '/api/servers/1/leave'],
    ['GET', '/api/servers/1/members'], ['GET', '/api/servers/1/invites'], ['POST', '/api/servers/1/invites'],
    ['DELETE', '/api/servers/1/invites/ABCDEFGH'],
  ];
  for (const [method, path] of routes) {
    const res = await env.request(method, path, { json: {} });
    t.equal(res.status, 401, `${method} ${path}`);
    t.same(res.body, { error: 'Authentication required' });
  }
});

t.test('bad ids are 400, never 500', async (t) => {
  const { cookie } = await env.register();
  // 20 digits pass the id pattern but exceed int8: still a 400, never a database error.
  for (const id of ['abc', '123456789012345678901', '-1', '1.5', '99999999999999999999']) {
    const res = await env.request('GET', `/api/servers/${encodeURIComponent(id)}`, { cookie });
    t.equal(res.status, 400, id);
    t.match(res.body, { error: String });
  }
});

t.test('create', async (t) => {
  const { user, cookie } = await env.register('creator');

  t.test('makes the server with the default roles and channels in one go', async (t) => {
    const res = await env.request('POST', '/api/servers', { cookie, json: { name: '  My Place  ' } });
    t.equal(res.status, 201);
    t.match(res.body, { id: /^\d+$/, name: 'My Place', icon: null, owner_id: user.id, created_at: String });
    const id = res.body.id as string;

    const roles = await sql`SELECT id::text, name, permissions::text, position FROM roles WHERE server_id = ${id}`;
    t.same(roles, [{ id, name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(), position: 0 }], '@everyone has the server id');
    const channels = await sql`
      SELECT c.name, c.type, c.position, p.name AS parent FROM channels c LEFT JOIN channels p ON p.id = c.parent_id
      WHERE c.server_id = ${id} ORDER BY c.type, c.position`;
    t.same(channels.map((c) => ({ ...c })), [
      { name: 'announcements', type: 'announcement', position: 1, parent: 'Text Channels' },
      { name: 'Text Channels', type: 'category', position: 0, parent: null },
      { name: 'Voice Channels', type: 'category', position: 1, parent: null },
      { name: 'general', type: 'text', position: 0, parent: 'Text Channels' },
      { name: 'General', type: 'voice', position: 0, parent: 'Voice Channels' },
    ]);

    const list = await env.request('GET', '/api/servers', { cookie });
    t.equal(list.status, 200);
    t.match(list.body, [{ id, name: 'My Place', joined_at: String }], 'the owner is a member');
  });

  t.test('validates the body', async (t) => {
    for (const json of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: ['a', 'b'] },
      { name: 'ok', icon: 'javascript:alert(1)' }, { name: 'ok', icon: 'http://evil.example/x.png' }]) {
      const res = await env.request('POST', '/api/servers', { cookie, json });
      t.equal(res.status, 400, JSON.stringify(json));
      t.ok(res.body.details?.length, 'names the field');
    }
    const nul = await env.request('POST', '/api/servers', { cookie, json: { name: 'a\u0000b' } });
    t.equal(nul.status, 400, 'a NUL character is refused, not a database error');
    t.same(nul.body, { error: 'Text may not contain NUL characters' });
    const ok = await env.request('POST', '/api/servers', { cookie, json: { name: 'x'.repeat(100), icon: 'https://cdn.example/i.png' } });
    t.equal(ok.status, 201, '100 characters and an https icon are fine');
  });

  t.test('lists servers in the order they were joined', async (t) => {
    const someone = await env.register();
    const first = await createGuild(env, 'first');
    const second = await createGuild(env, 'second');
    await addMember(env, second, someone);
    await addMember(env, first, someone);
    const list = await env.request('GET', '/api/servers', { cookie: someone.cookie });
    t.same(list.body.map((s: { id: string }) => s.id), [second.server.id, first.server.id]);
  });
});

t.test('get', async (t) => {
  const guild = await createGuild(env);
  const member = await addMember(env, guild);
  const outsider = await env.register('outsider');

  const res = await env.request('GET', `/api/servers/${guild.server.id}`, { cookie: member.cookie });
  t.equal(res.status, 200);
  t.match(res.body, { id: guild.server.id, name: guild.server.name, owner_id: guild.owner.user.id });

  const hidden = await env.request('GET', `/api/servers/${guild.server.id}`, { cookie: outsider.cookie });
  t.equal(hidden.status, 403);
  t.same(hidden.body, { error: 'You are not a member of this server' });

  const missing = await env.request('GET', '/api/servers/12345', { cookie: member.cookie });
  t.equal(missing.status, 404);
  t.same(missing.body, { error: 'Server not found' });
});

t.test('update', async (t) => {
  const guild = await createGuild(env);
  const member = await addMember(env, guild);
  const outsider = await env.register('outsider');
  const path = `/api/servers/${guild.server.id}`;

  const denied = await env.request('PATCH', path, { cookie: member.cookie, json: { name: 'Mine now' } });
  t.equal(denied.status, 403);
  t.same(denied.body, { error: 'Missing permission: MANAGE_GUILD' });
  t.equal((await env.request('PATCH', path, { cookie: outsider.cookie, json: { name: 'x' } })).status, 403);
  t.equal((await env.request('PATCH', '/api/servers/999', { cookie: member.cookie, json: { name: 'x' } })).status, 404);
  t.equal((await env.request('PATCH', path, { cookie: guild.owner.cookie, json: {} })).status, 400, 'nothing to change');
  t.equal((await env.request('PATCH', path, { cookie: guild.owner.cookie, json: { name: ' ' } })).status, 400);

  const socket = await env.connect(member.cookie);
  t.same(await roomAck(socket, 'join_server', guild.server.id), { ok: true });
  const updated = nextEvent(socket, 'server_updated');
  const res = await env.request('PATCH', path, { cookie: guild.owner.cookie, json: { name: 'Renamed', icon: '/uploads/icons/1.png' } });
  t.equal(res.status, 200);
  t.match(res.body, { id: guild.server.id, name: 'Renamed', icon: '/uploads/icons/1.png' });
  t.same(await updated, res.body, 'server_updated carries the server');

  const iconOnly = await env.request('PATCH', path, { cookie: guild.owner.cookie, json: { icon: null } });
  t.match(iconOnly.body, { name: 'Renamed', icon: null }, 'fields not sent stay as they were');
});

t.test('delete', async (t) => {
  const guild = await createGuild(env);
  const member = await addMember(env, guild);
  const path = `/api/servers/${guild.server.id}`;

  const denied = await env.request('DELETE', path, { cookie: member.cookie });
  t.equal(denied.status, 403, 'members cannot, even with every permission but ownership');
  t.same(denied.body, { error: 'Only the server owner can delete the server' });

  const socket = await env.connect(member.cookie);
  t.same(await roomAck(socket, 'join_server', guild.server.id), { ok: true });
  const deleted = nextEvent(socket, 'server_deleted');
  const res = await env.request('DELETE', path, { cookie: guild.owner.cookie });
  t.equal(res.status, 204);
  t.equal(res.body, '');
  t.same(await deleted, { serverId: guild.server.id });

  t.equal((await env.request('GET', path, { cookie: guild.owner.cookie })).status, 404);
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM channels WHERE server_id = ${guild.server.id}`;
  t.equal(n, 0, 'its channels went with it');
  t.same((await env.request('GET', '/api/servers', { cookie: member.cookie })).body, []);
});

t.test('invites and joining', async (t) => {
  const guild = await createGuild(env);
  const invites = `/api/servers/${guild.server.id}/invites`;

  t.test('creating needs CREATE_INSTANT_INVITE, which @everyone lacks', async (t) => {
    const member = await addMember(env, guild);
    const res = await env.request('POST', invites, { cookie: member.cookie, json: {} });
    t.equal(res.status, 403);
    t.same(res.body, { error: 'Missing permission: CREATE_INSTANT_INVITE' });
    const outsider = await env.register();
    t.equal((await env.request('POST', invites, { cookie: outsider.cookie, json: {} })).status, 403);
    t.equal((await env.request('POST', '/api/servers/77/invites', { cookie: member.cookie, json: {} })).status, 404);
    for (const json of [{ maxUses: -1 }, { maxUses: 'lots' }, { expiresIn: -5 }, { expiresIn: 1e12 }]) {
      t.equal((await env.request('POST', invites, { cookie: guild.owner.cookie, json })).status, 400, JSON.stringify(json));
    }
  });

  t.test('a code joins once per user, case-insensitively, and counts uses', async (t) => {
    const created = await env.request('POST', invites, { cookie: guild.owner.cookie, json: { maxUses: 2, expiresIn: 3600 } });
    t.equal(created.status, 201);
    t.match(created.body, {
      code: /^[A-Z2-9]{8}$/, server_id: guild.server.id, inviter_id: guild.owner.user.id,
      inviter_username: guild.owner.user.username, uses: 0, max_uses: 2, expires_at: String,
    });
    const { code } = created.body;
    const expires = Date.parse(created.body.expires_at) - Date.now();
    t.ok(expires > 3500_000 && expires <= 3600_000, 'expires in an hour');

    const alice = await env.register('alice');
    const watcher = await env.connect(guild.owner.cookie);
    t.same(await roomAck(watcher, 'join_server', guild.server.id), { ok: true });
    const aliceSocket = await env.connect(alice.cookie);
    const joinedEvent = nextEvent(watcher, 'user_joined');
    const serverJoined = nextEvent(aliceSocket, 'server_joined');
    const joined = await env.request('POST', '/api/servers/join', { cookie: alice.cookie, json: { code: code.toLowerCase() } });
    t.equal(joined.status, 200);
    t.match(joined.body, { id: guild.server.id, name: guild.server.name });
    t.same(await joinedEvent, { userId: alice.user.id, username: alice.user.username, serverId: guild.server.id });
    t.same(await serverJoined, { serverId: guild.server.id }, "the joiner's other tabs hear of it");

    const again = await env.request('POST', '/api/servers/join', { cookie: alice.cookie, json: { code } });
    t.equal(again.status, 200, 'joining again is fine');
    const [row] = await sql`SELECT uses FROM invites WHERE code = ${code}`;
    t.equal(row!.uses, 1, 'and costs no use');

    await addMember(env, guild); // the second use, through another invite
    const bob = await env.register('bob');
    t.equal((await env.request('POST', '/api/servers/join', { cookie: bob.cookie, json: { code } })).status, 200, 'second use');
    const carol = await env.register('carol');
    const usedUp = await env.request('POST', '/api/servers/join', { cookie: carol.cookie, json: { code } });
    t.equal(usedUp.status, 404, 'a used-up invite is gone');
    t.same(usedUp.body, { error: 'Invite not found' });
  });

  t.test('expired, unknown and malformed codes', async (t) => {
    const created = await env.request('POST', invites, { cookie: guild.owner.cookie, json: { expiresIn: 60 } });
    await sql`UPDATE invites SET expires_at = now() - interval '1 second' WHERE code = ${created.body.code}`;
    const late = await env.register();
    t.equal((await env.request('POST', '/api/servers/join', { cookie: late.cookie, json: { code: created.body.code } })).status, 404, 'expired');
    t.equal((await env.request('POST', '/api/servers/join', { cookie: late.cookie, json: { code: 'ZZZZZZZZ' } })).status, 404, 'unknown');
    for (const json of [{}, { code: '' }, { code: 'bad code!' }, { code: 'A'.repeat(33) }]) {
      t.equal((await env.request('POST', '/api/servers/join', { cookie: late.cookie, json })).status, 400, JSON.stringify(json));
    }
  });

  t.test('a ban blocks joining', async (t) => {
    const banned = await env.register('banned');
    await sql`INSERT INTO bans (server_id, user_id) VALUES (${guild.server.id}, ${banned.user.id})`;
    const created = await env.request('POST', invites, { cookie: guild.owner.cookie, json: {} });
    const res = await env.request('POST', '/api/servers/join', { cookie: banned.cookie, json: { code: created.body.code } });
    t.equal(res.status, 403);
    t.same(res.body, { error: 'You are banned from this server' });
    const [row] = await sql`SELECT uses FROM invites WHERE code = ${created.body.code}`;
    t.equal(row!.uses, 0);
  });

  t.test('a join racing a ban never lets the banned user in', async (t) => {
    const racer = await env.register('racer');
    const created = await env.request('POST', invites, { cookie: guild.owner.cookie, json: {} });
    let join!: Promise<{ status: number }>;
    // A ban in progress holds the user's standing in the server; the join must wait for it.
    await sql.begin(async (tx) => {
      await serversRepo(tx).lockStanding(guild.server.id, racer.user.id);
      join = env.request('POST', '/api/servers/join', { cookie: racer.cookie, json: { code: created.body.code } });
      await untilBlocked(sql, 'advisory');
      await tx`INSERT INTO bans (server_id, user_id) VALUES (${guild.server.id}, ${racer.user.id})`;
    });
    t.equal((await join).status, 403, 'the join saw the ban that committed while it waited');
    t.equal((await env.request('GET', `/api/servers/${guild.server.id}`, { cookie: racer.cookie })).status, 403);
  });

  t.test('listing shows active invites to members only; revoking', async (t) => {
    const member = await addMember(env, guild);
    const kept = await env.request('POST', invites, { cookie: guild.owner.cookie, json: { expiresIn: null } });
    const spent = await env.request('POST', invites, { cookie: guild.owner.cookie, json: { maxUses: 1 } });
    await sql`UPDATE invites SET uses = 1 WHERE code = ${spent.body.code}`;
    const list = await env.request('GET', invites, { cookie: member.cookie });
    t.equal(list.status, 200);
    const codes = list.body.map((i: { code: string }) => i.code);
    t.ok(codes.includes(kept.body.code) && !codes.includes(spent.body.code), 'used-up invites are not listed');
    t.equal(list.body[0].code, kept.body.code, 'newest first');
    t.equal((await env.request('GET', invites, { cookie: (await env.register()).cookie })).status, 403, 'non-member');

    const revoke = `${invites}/${kept.body.code.toLowerCase()}`;
    const denied = await env.request('DELETE', revoke, { cookie: member.cookie });
    t.equal(denied.status, 403, 'someone else\'s invite needs MANAGE_GUILD');
    t.same(denied.body, { error: 'Missing permission: MANAGE_GUILD' });
    t.equal((await env.request('DELETE', revoke, { cookie: guild.owner.cookie })).status, 204);
    t.equal((await env.request('DELETE', revoke, { cookie: guild.owner.cookie })).status, 404, 'already gone');
    const other = await createGuild(env, 'other');
    const foreign = await env.request('POST', `/api/servers/${other.server.id}/invites`, { cookie: other.owner.cookie, json: {} });
    t.equal((await env.request('DELETE', `${invites}/${foreign.body.code}`, { cookie: guild.owner.cookie })).status, 404,
      'another server\'s invite is not found through this one');
  });
});

t.test('leave', async (t) => {
  const guild = await createGuild(env);
  const member = await addMember(env, guild);
  const path = `/api/servers/${guild.server.id}/leave`;

  const owner = await env.request('POST', path, { cookie: guild.owner.cookie });
  t.equal(owner.status, 400);
  t.same(owner.body, { error: 'Server owner cannot leave — delete the server instead' });

  const watcher = await env.connect(guild.owner.cookie);
  t.same(await roomAck(watcher, 'join_server', guild.server.id), { ok: true });
  const left = nextEvent(watcher, 'user_left');
  const res = await env.request('POST', path, { cookie: member.cookie });
  t.equal(res.status, 200);
  t.same(res.body, { message: 'Left server' });
  t.same(await left, { userId: member.user.id, serverId: guild.server.id });

  t.equal((await env.request('GET', `/api/servers/${guild.server.id}`, { cookie: member.cookie })).status, 403, 'no longer a member');
  t.equal((await env.request('POST', path, { cookie: member.cookie })).status, 403, 'cannot leave twice');
  t.equal((await env.request('POST', '/api/servers/31337/leave', { cookie: member.cookie })).status, 404);
});

t.test('members', async (t) => {
  const guild = await createGuild(env);
  const zed = await addMember(env, guild, await env.register('zed'));
  const amy = await addMember(env, guild, await env.register('amy'));
  const path = `/api/servers/${guild.server.id}/members`;

  // Two roles for amy: the higher one gives the colour, the hoisted one the hoist fields.
  const [high, low] = ['9000001', '9000002'];
  await sql`INSERT INTO roles (id, server_id, name, color, position, hoist) VALUES
    (${high}, ${guild.server.id}, 'Mods', '#FF0000', 2, false), (${low}, ${guild.server.id}, 'Regulars', '#00FF00', 1, true)`;
  await sql`INSERT INTO member_roles (server_id, user_id, role_id) VALUES
    (${guild.server.id}, ${amy.user.id}, ${high}), (${guild.server.id}, ${amy.user.id}, ${low})`;

  const res = await env.request('GET', path, { cookie: zed.cookie });
  t.equal(res.status, 200);
  t.equal(res.body.myPermissions, DEFAULT_EVERYONE_PERMISSIONS.toString(), 'a plain member holds @everyone');
  t.same(res.body.members.map((m: { username: string }) => m.username),
    [amy.user.username, guild.owner.user.username, zed.user.username].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
    'ordered by username');
  const amyRow = res.body.members.find((m: { id: string }) => m.id === amy.user.id);
  t.same(amyRow, {
    id: amy.user.id, username: amy.user.username, avatar: null, status: 'offline', custom_status: null, nickname: null,
    joined_at: amyRow.joined_at, role_color: '#FF0000', hoist_role_name: 'Regulars', hoist_role_position: 1, roles: [high, low],
  });
  t.notOk('email' in amyRow, 'no emails in the member list');

  const owner = await env.request('GET', path, { cookie: guild.owner.cookie });
  t.equal(owner.body.myPermissions, ALL_PERMISSIONS.toString(), 'the owner holds every flag');
  t.equal(owner.body.myPermissions, '1511827959807');

  t.equal((await env.request('GET', `${path}?limit=1`, { cookie: zed.cookie })).body.members.length, 1);
  t.equal((await env.request('GET', `${path}?limit=0`, { cookie: zed.cookie })).status, 400);
  t.equal((await env.request('GET', path, { cookie: (await env.register()).cookie })).status, 403);
});

t.test('a non-member hears nothing of the server', async (t) => {
  const guild = await createGuild(env);
  const outsider = await env.register('outsider');
  const member = await addMember(env, guild);
  const spy = await env.connect(outsider.cookie);
  const refused = await roomAck(spy, 'join_server', guild.server.id);
  t.equal(refused.ok, false, 'the gateway refuses the join');
  const seen: [string, unknown][] = [];
  spy.onAny((event: string, payload: unknown) => seen.push([event, payload]));

  const listener = await env.connect(member.cookie);
  t.same(await roomAck(listener, 'join_server', guild.server.id), { ok: true });
  const updated = nextEvent(listener, 'server_updated');
  await env.request('PATCH', `/api/servers/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name: 'Secret plans' } });
  await updated;
  // The outsider's own personal room is on the same path: once it hears its own event, the
  // server's event (sent before it) would have arrived too.
  const own = nextEvent(spy, 'server_joined');
  await env.request('POST', '/api/servers', { cookie: outsider.cookie, json: { name: 'mine' } });
  await own;
  t.same(seen.filter(([event]) => event !== 'server_joined'), [], 'nothing from the server it is not in');
});
