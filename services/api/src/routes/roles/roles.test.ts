// Role routes against a real API, Postgres and socket.io clients: list, create, update, delete,
// reorder and role assignment, each with its error statuses, the hierarchy and no-escalation rules
// of decisions G6, the events members in the server room receive, and the access re-check asked
// of the gateways when permissions may have changed.
import t from 'tap';
import { rooms } from '@nexusguild/shared/events';
import { ALL_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, Flags } from '@nexusguild/shared/permissions';
import {
  addMember, assignRole, createGuild, createRole, listenToServer, memberWith, roomAck, type GuildFixture,
} from '../../../../../test/guild.ts';
import { assertError, leavesRoom, nextEvent, record, setup } from '../../../../../test/harness.ts';
import { MAX_ROLES } from './schema.ts';

const env = await setup(t);
const publisher = env.resources.publisher;

// Every recheck_access the routes ask for, by server id (still sent on to the gateways).
const rechecks: string[] = [];
const sendRecheck = publisher.recheckAccess.bind(publisher);
publisher.recheckAccess = (serverId) => {
  rechecks.push(serverId);
  sendRecheck(serverId);
};

const ROLE_KEYS = ['color', 'created_at', 'hoist', 'id', 'mentionable', 'name', 'permissions', 'position', 'serverId', 'server_id'];
const mask = (...flags: bigint[]) => flags.reduce((a, f) => a | f, 0n).toString();

const rolesPath = (g: GuildFixture) => `/api/servers/${g.server.id}/roles`;
const memberRolePath = (g: GuildFixture, userId: string, roleId: string) => `/api/servers/${g.server.id}/members/${userId}/roles/${roleId}`;

async function roleList(g: GuildFixture) {
  return (await env.request('GET', rolesPath(g), { cookie: g.owner.cookie })).body as { id: string; name: string; position: number; permissions: string }[];
}

t.test('every route needs a session', async (t) => {
  const routes: [string, string][] = [
    ['GET', '/api/servers/1/roles'], ['POST', '/api/servers/1/roles'], ['PATCH', '/api/servers/1/roles/2'],
    ['DELETE', '/api/servers/1/roles/2'], ['PATCH', '/api/servers/1/roles/reorder'],
    ['PUT', '/api/servers/1/members/2/roles/3'], ['DELETE', '/api/servers/1/members/2/roles/3'],
  ];
  for (const [method, path] of routes) {
    const res = await env.request(method, path, { json: {} });
    assertError(t, res, 401, 'Authentication required');
  }
});

t.test('bad ids are 400, never 500', async (t) => {
  const g = await createGuild(env);
  const { cookie } = g.owner;
  const s = g.server.id;
  for (const bad of ['abc', '-1', '1.5', '123456789012345678901', '99999999999999999999']) {
    const id = encodeURIComponent(bad);
    assertError(t, await env.request('GET', `/api/servers/${id}/roles`, { cookie }), 400);
    assertError(t, await env.request('POST', `/api/servers/${id}/roles`, { cookie, json: {} }), 400);
    assertError(t, await env.request('PATCH', `/api/servers/${s}/roles/${id}`, { cookie, json: { name: 'x' } }), 400);
    assertError(t, await env.request('DELETE', `/api/servers/${s}/roles/${id}`, { cookie }), 400);
    assertError(t, await env.request('PUT', `/api/servers/${s}/members/${id}/roles/${s}`, { cookie }), 400);
    assertError(t, await env.request('PUT', `/api/servers/${s}/members/${g.owner.user.id}/roles/${id}`, { cookie }), 400);
    assertError(t, await env.request('DELETE', `/api/servers/${s}/members/${id}/roles/${s}`, { cookie }), 400);
  }
});

t.test('list', async (t) => {
  const g = await createGuild(env);
  const member = await addMember(env, g);

  t.test('a member gets a bare array, @everyone (the server id, position 0) last', async (t) => {
    const res = await env.request('GET', rolesPath(g), { cookie: member.cookie });
    t.equal(res.status, 200);
    t.same(res.body.length, 1);
    const [everyone] = res.body;
    t.same(Object.keys(everyone).sort(), ROLE_KEYS);
    t.match(everyone, {
      id: g.server.id, server_id: g.server.id, serverId: g.server.id, name: '@everyone', color: '#99AAB5',
      permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(), position: 0, hoist: false, mentionable: false,
    });
    const a = await createRole(env, g, { name: 'A' });
    const b = await createRole(env, g, { name: 'B' });
    const again = await env.request('GET', rolesPath(g), { cookie: member.cookie });
    t.same(again.body.map((r: { id: string }) => r.id), [b.id, a.id, g.server.id], 'position descending');
  });

  t.test('a non-member gets 403, an unknown server 404', async (t) => {
    const outsider = await env.register('outsider');
    assertError(t, await env.request('GET', rolesPath(g), { cookie: outsider.cookie }), 403, 'You are not a member of this server');
    assertError(t, await env.request('GET', '/api/servers/12345/roles', { cookie: outsider.cookie }), 404, 'Server not found');
  });
});

t.test('create', async (t) => {
  const g = await createGuild(env);
  const watcher = await addMember(env, g);

  t.test('defaults, 201, and role_created to the server room', async (t) => {
    const socket = await listenToServer(env, t, watcher.cookie, g.server.id);
    const event = nextEvent(socket, 'role_created');
    const res = await env.request('POST', rolesPath(g), { cookie: g.owner.cookie, json: {} });
    t.equal(res.status, 201);
    t.same(Object.keys(res.body).sort(), ROLE_KEYS);
    t.match(res.body, {
      id: /^\d+$/, server_id: g.server.id, serverId: g.server.id, name: 'New Role', color: '#99AAB5', permissions: '0',
      position: 1, hoist: false, mentionable: false,
    });
    t.same(await event, res.body, 'the event carries the Role object with serverId');
  });

  t.test('without a body it takes the defaults too', async (t) => {
    const res = await env.request('POST', rolesPath(g), { cookie: g.owner.cookie });
    t.equal(res.status, 201);
    t.match(res.body, { name: 'New Role', permissions: '0' });
  });

  t.test('takes every field; position is above the highest role; name is trimmed; permissions may be a number', async (t) => {
    const before = Math.max(...(await roleList(g)).map((r) => r.position));
    const res = await env.request('POST', rolesPath(g), {
      cookie: g.owner.cookie,
      json: { name: '  Moderators ', color: '#ff00AA', permissions: Number(Flags.KICK_MEMBERS | Flags.BAN_MEMBERS), hoist: true, mentionable: true },
    });
    t.equal(res.status, 201);
    t.match(res.body, { name: 'Moderators', color: '#ff00AA', permissions: mask(Flags.KICK_MEMBERS, Flags.BAN_MEMBERS), hoist: true, mentionable: true, position: before + 1 });
    const all = await env.request('POST', rolesPath(g), { cookie: g.owner.cookie, json: { permissions: ALL_PERMISSIONS.toString() } });
    t.equal(all.status, 201, 'every defined flag is accepted');
    t.equal(all.body.permissions, ALL_PERMISSIONS.toString());
  });

  t.test('bad bodies are 400', async (t) => {
    const bodies = [
      { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: ['a', 'b'] },
      { color: 'red' }, { color: '#12345' }, { color: '#1234567' }, { color: '#GGGGGG' },
      { permissions: 'abc' }, { permissions: -1 }, { permissions: 1.5 }, { permissions: '12345678901234567' },
      { permissions: (1n << 12n).toString() }, { permissions: (1n << 41n).toString() }, { permissions: (ALL_PERMISSIONS + (1n << 19n)).toString() },
      { hoist: 'maybe' },
    ];
    for (const json of bodies) {
      assertError(t, await env.request('POST', rolesPath(g), { cookie: g.owner.cookie, json }), 400, undefined, JSON.stringify(json));
    }
    const unknownBits = await env.request('POST', rolesPath(g), { cookie: g.owner.cookie, json: { permissions: String(1n << 12n) } });
    t.same(unknownBits.body.details, [{ field: 'permissions', message: 'has bits outside the permission table' }]);
  });

  t.test('403 for a non-member and for a member without MANAGE_ROLES; 404 for an unknown server', async (t) => {
    const outsider = await env.register('outsider');
    assertError(t, await env.request('POST', rolesPath(g), { cookie: outsider.cookie, json: {} }), 403, 'You are not a member of this server');
    assertError(t, await env.request('POST', rolesPath(g), { cookie: watcher.cookie, json: {} }), 403, 'Missing permission: MANAGE_ROLES');
    assertError(t, await env.request('POST', '/api/servers/12345/roles', { cookie: watcher.cookie, json: {} }), 404, 'Server not found');
  });

  t.test('no escalation: a manager grants only bits they hold; an administrator grants anything', async (t) => {
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES | Flags.KICK_MEMBERS);
    const own = await env.request('POST', rolesPath(g), { cookie: manager.cookie, json: { permissions: mask(Flags.KICK_MEMBERS, Flags.VIEW_CHANNEL) } });
    t.equal(own.status, 201, 'bits of the role and of @everyone');
    for (const flag of [Flags.BAN_MEMBERS, Flags.ADMINISTRATOR]) {
      const res = await env.request('POST', rolesPath(g), { cookie: manager.cookie, json: { permissions: (Flags.KICK_MEMBERS | flag).toString() } });
      assertError(t, res, 403, 'You cannot grant permissions you do not have');
    }
    const admin = await memberWith(env, g, Flags.ADMINISTRATOR, 'Admin');
    const res = await env.request('POST', rolesPath(g), { cookie: admin.cookie, json: { permissions: mask(Flags.BAN_MEMBERS, Flags.ADMINISTRATOR) } });
    t.equal(res.status, 201);
  });
  t.test('a manager below the top creates the role just under their own, and can manage it', async (t) => {
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES, 'Manager');
    const above = await createRole(env, g, { name: 'Above' }); // the owner's: now above the manager's role
    const watcher = await listenToServer(env, t, g.owner.cookie, g.server.id);
    const lifted = nextEvent(watcher, 'role_updated', { filter: (r) => r.id === manager.role.id });
    const res = await env.request('POST', rolesPath(g), { cookie: manager.cookie, json: { name: 'Helpers' } });
    t.equal(res.status, 201);
    t.equal(res.body.position, manager.role.position, "it takes the manager's old place");
    t.equal((await lifted).position, manager.role.position + 1, 'which moves up one, announced');
    const positions = new Map((await roleList(g)).map((r) => [r.id, r.position]));
    t.equal(positions.get(above.id), above.position + 1, 'roles above move up too, keeping their order');
    const edit = await env.request('PATCH', `${rolesPath(g)}/${res.body.id}`, { cookie: manager.cookie, json: { name: 'Helpers 2' } });
    t.equal(edit.status, 200, 'the manager can manage the role they made');
  });
});

t.test('update', async (t) => {
  const g = await createGuild(env);
  const watcher = await addMember(env, g);

  t.test('changes the given fields, 200, role_updated to the server room', async (t) => {
    const role = await createRole(env, g, { name: 'Old', color: '#111111' });
    const socket = await listenToServer(env, t, watcher.cookie, g.server.id);
    const event = nextEvent(socket, 'role_updated', { filter: (p) => p.id === role.id });
    const res = await env.request('PATCH', `${rolesPath(g)}/${role.id}`, {
      cookie: g.owner.cookie, json: { name: ' New ', hoist: true, mentionable: true },
    });
    t.equal(res.status, 200);
    t.same(Object.keys(res.body).sort(), ROLE_KEYS);
    t.match(res.body, { id: role.id, name: 'New', color: '#111111', permissions: '0', hoist: true, mentionable: true, position: role.position });
    t.same(await event, res.body, 'the event carries the Role object with serverId');
    const color = await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie, json: { color: '#abcdef' } });
    t.match(color.body, { name: 'New', color: '#abcdef', hoist: true });
  });

  t.test('a permission change asks the gateways to re-check access; other changes do not', async (t) => {
    const role = await createRole(env, g);
    rechecks.length = 0;
    await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie, json: { name: 'Renamed' } });
    await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie, json: { permissions: '0' } });
    t.same(rechecks, [], 'no recheck without a permission change');
    const res = await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie, json: { permissions: mask(Flags.SPEAK) } });
    t.equal(res.body.permissions, mask(Flags.SPEAK));
    t.same(rechecks, [g.server.id]);
  });

  t.test('taking VIEW_CHANNEL from @everyone pulls a member out of the channel room', async (t) => {
    const g2 = await createGuild(env);
    const member = await addMember(env, g2);
    const other = await addMember(env, g2);
    const socket = await listenToServer(env, t, member.cookie, g2.server.id);
    t.same(await roomAck(socket, 'join_channel', g2.general.id), { ok: true });
    const left = leavesRoom(env.gateway, rooms.channel(g2.general.id), socket.id!);
    const res = await env.request('PATCH', `${rolesPath(g2)}/${g2.server.id}`, {
      cookie: g2.owner.cookie, json: { permissions: (DEFAULT_EVERYONE_PERMISSIONS & ~Flags.VIEW_CHANNEL).toString() },
    });
    t.equal(res.status, 200);
    t.equal(res.body.name, '@everyone', '@everyone keeps its name');
    // The gateway re-checks asynchronously: it refuses a new join at once, and the room empties.
    const probe = await listenToServer(env, t, other.cookie, g2.server.id);
    t.match(await roomAck(probe, 'join_channel', g2.general.id), { ok: false, error: 'Missing permission: VIEW_CHANNEL' });
    await t.resolves(left, 'left the channel room');
    t.ok(env.gateway.io.of('/').sockets.get(socket.id!)!.rooms.has(rooms.server(g2.server.id)), 'still in the server room');
  });

  t.test('404 for an unknown role and for another server\'s role', async (t) => {
    const other = await createGuild(env);
    const foreign = await createRole(env, other);
    assertError(t, await env.request('PATCH', `${rolesPath(g)}/12345`, { cookie: g.owner.cookie, json: { name: 'x' } }), 404, 'Role not found');
    assertError(t, await env.request('PATCH', `${rolesPath(g)}/${foreign.id}`, { cookie: g.owner.cookie, json: { name: 'x' } }), 404, 'Role not found');
    assertError(t, await env.request('PATCH', `${rolesPath(g)}/${other.server.id}`, { cookie: g.owner.cookie, json: { name: 'x' } }), 404, 'Role not found');
    assertError(t, await env.request('PATCH', `/api/servers/12345/roles/${foreign.id}`, { cookie: g.owner.cookie, json: { name: 'x' } }), 404, 'Server not found');
  });

  t.test('@everyone cannot be renamed, but its other fields change', async (t) => {
    const res = await env.request('PATCH', `${rolesPath(g)}/${g.server.id}`, { cookie: g.owner.cookie, json: { name: 'everybody' } });
    assertError(t, res, 400, 'Cannot rename @everyone');
    const color = await env.request('PATCH', `${rolesPath(g)}/${g.server.id}`, { cookie: g.owner.cookie, json: { color: '#000000' } });
    t.equal(color.status, 200);
    t.match(color.body, { name: '@everyone', color: '#000000', position: 0 });
  });

  t.test('bad bodies are 400', async (t) => {
    const role = await createRole(env, g);
    for (const json of [{}, { name: '' }, { name: ' ' }, { color: 'blue' }, { permissions: 'x' }, { permissions: String(1n << 39n) }, { mentionable: 3 }]) {
      assertError(t, await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie, json }), 400);
    }
  });

  t.test('403 for a non-member and for a member without MANAGE_ROLES', async (t) => {
    const role = await createRole(env, g);
    const outsider = await env.register('outsider');
    assertError(t, await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: outsider.cookie, json: { name: 'x' } }), 403, 'You are not a member of this server');
    assertError(t, await env.request('PATCH', `${rolesPath(g)}/${role.id}`, { cookie: watcher.cookie, json: { name: 'x' } }), 403, 'Missing permission: MANAGE_ROLES');
  });

  t.test('hierarchy: a manager edits only roles below their top role; owner and admins any', async (t) => {
    const low = await createRole(env, g, { name: 'Low', permissions: mask(Flags.BAN_MEMBERS) });
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES | Flags.KICK_MEMBERS);
    const high = await createRole(env, g, { name: 'High' });
    const path = (id: string) => `${rolesPath(g)}/${id}`;
    assertError(t, await env.request('PATCH', path(high.id), { cookie: manager.cookie, json: { name: 'x' } }), 403, 'You can only manage roles below your highest role');
    assertError(t, await env.request('PATCH', path(manager.role.id), { cookie: manager.cookie, json: { name: 'x' } }), 403, 'below your highest role');
    const ok = await env.request('PATCH', path(low.id), { cookie: manager.cookie, json: { name: 'Lower', permissions: mask(Flags.BAN_MEMBERS, Flags.KICK_MEMBERS) } });
    t.equal(ok.status, 200, 'keeping a bit the manager lacks is not a grant');
    t.match(ok.body, { name: 'Lower', permissions: mask(Flags.BAN_MEMBERS, Flags.KICK_MEMBERS) });
    const everyone = await env.request('PATCH', path(g.server.id), { cookie: manager.cookie, json: { color: '#123456' } });
    t.equal(everyone.status, 200, '@everyone is below every role');

    const admin = await memberWith(env, g, Flags.ADMINISTRATOR, 'Admin');
    const above = await createRole(env, g, { name: 'Above the admin' });
    const res = await env.request('PATCH', path(above.id), { cookie: admin.cookie, json: { name: 'edited by admin' } });
    t.equal(res.status, 200, 'an administrator stands above the hierarchy');
  });

  t.test('no escalation: adding a bit the caller lacks is 403 and changes nothing', async (t) => {
    const target = await createRole(env, g, { name: 'Target' });
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES);
    // The manager's role was created after the target, so the target is below it.
    for (const flag of [Flags.ADMINISTRATOR, Flags.BAN_MEMBERS]) {
      const res = await env.request('PATCH', `${rolesPath(g)}/${target.id}`, { cookie: manager.cookie, json: { name: 'Escalated', permissions: flag.toString() } });
      assertError(t, res, 403, 'You cannot grant permissions you do not have');
    }
    const everyone = await env.request('PATCH', `${rolesPath(g)}/${g.server.id}`, { cookie: manager.cookie, json: { permissions: ALL_PERMISSIONS.toString() } });
    assertError(t, everyone, 403, 'You cannot grant permissions you do not have');
    const ok = await env.request('PATCH', `${rolesPath(g)}/${target.id}`, { cookie: manager.cookie, json: { permissions: mask(Flags.MANAGE_ROLES, Flags.SEND_MESSAGES) } });
    t.equal(ok.status, 200, 'bits the manager holds (its role and @everyone)');
    const after = (await roleList(g)).find((r) => r.id === target.id);
    t.match(after, { name: 'Target', permissions: mask(Flags.MANAGE_ROLES, Flags.SEND_MESSAGES) });
  });
});

t.test('delete', async (t) => {
  const g = await createGuild(env);
  const watcher = await addMember(env, g);

  t.test('204, the role and its assignments are gone, role_deleted to the room, access re-checked', async (t) => {
    const role = await createRole(env, g, { name: 'Doomed' });
    await assignRole(env, g, watcher.user.id, role.id);
    const override = await env.request('PUT', `/api/channels/${g.general.id}/permissions/${role.id}`, {
      cookie: g.owner.cookie, json: { target_type: 'role', allow: '0', deny: Flags.SEND_MESSAGES.toString() },
    });
    t.equal(override.status, 200);
    const socket = await listenToServer(env, t, watcher.cookie, g.server.id);
    const event = nextEvent(socket, 'role_deleted');
    rechecks.length = 0;
    const res = await env.request('DELETE', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie });
    t.equal(res.status, 204);
    t.equal(res.body, '');
    t.same(await event, { roleId: role.id, serverId: g.server.id });
    t.same(rechecks, [g.server.id]);
    t.notOk((await roleList(g)).some((r) => r.id === role.id), 'not listed');
    const members = await env.request('GET', `/api/servers/${g.server.id}/members`, { cookie: g.owner.cookie });
    t.same(members.body.members.find((m: { id: string }) => m.id === watcher.user.id).roles, [], 'assignment gone');
    const overrides = await env.request('GET', `/api/channels/${g.general.id}/permissions`, { cookie: g.owner.cookie });
    t.notOk(overrides.body.some((o: { target_id: string }) => o.target_id === role.id), 'its channel overrides are gone');
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${role.id}`, { cookie: g.owner.cookie }), 404, 'Role not found');
  });

  t.test('@everyone cannot be deleted', async (t) => {
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${g.server.id}`, { cookie: g.owner.cookie }), 400, 'Cannot delete @everyone role');
  });

  t.test('404 for another server\'s role; 403 non-member, missing permission, hierarchy', async (t) => {
    const other = await createGuild(env);
    const foreign = await createRole(env, other);
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${foreign.id}`, { cookie: g.owner.cookie }), 404, 'Role not found');
    const role = await createRole(env, g);
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${role.id}`, { cookie: other.owner.cookie }), 403, 'You are not a member of this server');
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${role.id}`, { cookie: watcher.cookie }), 403, 'Missing permission: MANAGE_ROLES');
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES);
    const high = await createRole(env, g);
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${high.id}`, { cookie: manager.cookie }), 403, 'below your highest role');
    assertError(t, await env.request('DELETE', `${rolesPath(g)}/${manager.role.id}`, { cookie: manager.cookie }), 403, 'below your highest role');
    t.equal((await env.request('DELETE', `${rolesPath(g)}/${role.id}`, { cookie: manager.cookie })).status, 204, 'a role below is fine');
  });
});

t.test('reorder', async (t) => {
  const g = await createGuild(env);
  const a = await createRole(env, g, { name: 'A' }); // 1
  const b = await createRole(env, g, { name: 'B' }); // 2
  const c = await createRole(env, g, { name: 'C' }); // 3
  const reorder = (order: string[], cookie = g.owner.cookie) => env.request('PATCH', `${rolesPath(g)}/reorder`, { cookie, json: { order } });

  t.test('sets position = length − index, returns the list, role_updated for each moved role only', async (t) => {
    const watcher = await addMember(env, g);
    const socket = await listenToServer(env, t, watcher.cookie, g.server.id);
    const seen = record(socket, 'role_updated');
    const res = await reorder([b.id, c.id, a.id]);
    t.equal(res.status, 200);
    t.same(res.body.map((r: { name: string; position: number }) => [r.name, r.position]), [['B', 3], ['C', 2], ['A', 1], ['@everyone', 0]]);
    t.same(Object.keys(res.body[0]).sort(), ROLE_KEYS);
    await env.flush(socket, watcher.user.id);
    t.same(seen.map((r) => [r.name, r.position]).sort(), [['B', 3], ['C', 2]], 'A did not move, so no event for it');
    t.ok(seen.every((r) => r.serverId === g.server.id));
    t.same((await roleList(g)).map((r) => r.name), ['B', 'C', 'A', '@everyone'], 'stored');
    const same = await reorder([b.id, c.id, a.id]);
    t.equal(same.status, 200, 'an unchanged order is fine');
  });

  t.test('the order must list every role but @everyone exactly once', async (t) => {
    const other = await createGuild(env);
    const foreign = await createRole(env, other);
    const message = 'order must list every role of the server except @everyone exactly once';
    for (const order of [
      [b.id, c.id], [b.id, c.id, a.id, a.id], [b.id, c.id, a.id, g.server.id], [b.id, c.id, foreign.id], [], [b.id, c.id, '12345'],
    ]) {
      assertError(t, await reorder(order), 400, message);
    }
    for (const json of [{}, { order: 'abc' }, { order: ['x'] }, { order: [1.5] }]) {
      assertError(t, await env.request('PATCH', `${rolesPath(g)}/reorder`, { cookie: g.owner.cookie, json }), 400);
    }
    t.same((await roleList(g)).map((r) => r.name), ['B', 'C', 'A', '@everyone'], 'nothing changed');
  });

  t.test('403 for a non-member and without MANAGE_ROLES; 404 for an unknown server', async (t) => {
    const plain = await addMember(env, g);
    const outsider = await env.register('outsider');
    assertError(t, await reorder([b.id, c.id, a.id], outsider.cookie), 403, 'You are not a member of this server');
    assertError(t, await reorder([b.id, c.id, a.id], plain.cookie), 403, 'Missing permission: MANAGE_ROLES');
    const res = await env.request('PATCH', '/api/servers/12345/roles/reorder', { cookie: g.owner.cookie, json: { order: [] } });
    assertError(t, res, 404, 'Server not found');
  });

  t.test('hierarchy: a manager moves only roles below their top role, to below it, all or nothing', async (t) => {
    const g2 = await createGuild(env);
    const low1 = await createRole(env, g2, { name: 'low1' }); // 1
    const low2 = await createRole(env, g2, { name: 'low2' }); // 2
    const manager = await memberWith(env, g2, Flags.MANAGE_ROLES); // its role: 3
    const top = await createRole(env, g2, { name: 'top' }); // 4
    const m = manager.role.id;
    const go = (order: string[]) => env.request('PATCH', `${rolesPath(g2)}/reorder`, { cookie: manager.cookie, json: { order } });
    const swap = await go([top.id, m, low1.id, low2.id]);
    t.equal(swap.status, 200, 'swapping two roles below is fine');
    t.same(swap.body.map((r: { name: string }) => r.name), ['top', 'Mod', 'low1', 'low2', '@everyone']);
    assertError(t, await go([m, top.id, low1.id, low2.id]), 403, 'below your highest role'); // moves top and the own role
    assertError(t, await go([top.id, low1.id, m, low2.id]), 403, 'below your highest role'); // lifts low1 to the own position
    t.same((await env.request('GET', rolesPath(g2), { cookie: g2.owner.cookie })).body.map((r: { name: string }) => r.name),
      ['top', 'Mod', 'low1', 'low2', '@everyone'], 'a refused reorder changes nothing');
    const admin = await memberWith(env, g2, Flags.ADMINISTRATOR, 'Admin'); // 5
    const byAdmin = await env.request('PATCH', `${rolesPath(g2)}/reorder`, { cookie: admin.cookie, json: { order: [low2.id, low1.id, m, top.id, admin.role.id] } });
    t.equal(byAdmin.status, 200, 'an administrator moves anything, even their own role');
  });

  t.test('a gap left by a deleted role does not lock a manager out', async (t) => {
    const g3 = await createGuild(env);
    const gone = await createRole(env, g3, { name: 'gone' }); // 1
    const low = await createRole(env, g3, { name: 'low' }); // 2
    const manager = await memberWith(env, g3, Flags.MANAGE_ROLES); // 3
    const top = await createRole(env, g3, { name: 'top' }); // 4
    t.equal((await env.request('DELETE', `${rolesPath(g3)}/${gone.id}`, { cookie: g3.owner.cookie })).status, 204);
    const res = await env.request('PATCH', `${rolesPath(g3)}/reorder`, { cookie: manager.cookie, json: { order: [top.id, manager.role.id, low.id] } });
    t.equal(res.status, 200, 'the current order, resubmitted, moves nothing');
    t.same(res.body.map((r: { name: string; position: number }) => [r.name, r.position]), [['top', 4], ['Mod', 3], ['low', 2], ['@everyone', 0]]);
  });
});

t.test('assign and remove', async (t) => {
  const g = await createGuild(env);
  const target = await addMember(env, g);
  const watcher = await addMember(env, g);
  const a = await createRole(env, g, { name: 'A' });
  const b = await createRole(env, g, { name: 'B' });

  t.test('PUT assigns (idempotent), DELETE removes (idempotent), member_role_updated each change, access re-checked', async (t) => {
    const socket = await listenToServer(env, t, watcher.cookie, g.server.id);
    const seen = record(socket, 'member_role_updated');
    rechecks.length = 0;
    const first = await env.request('PUT', memberRolePath(g, target.user.id, a.id), { cookie: g.owner.cookie });
    t.equal(first.status, 200);
    t.same(first.body, { userId: target.user.id, serverId: g.server.id, roleIds: [a.id] });
    const second = await env.request('PUT', memberRolePath(g, target.user.id, b.id), { cookie: g.owner.cookie });
    t.same(second.body, { userId: target.user.id, serverId: g.server.id, roleIds: [b.id, a.id] }, 'every role, highest first');
    const again = await env.request('PUT', memberRolePath(g, target.user.id, b.id), { cookie: g.owner.cookie });
    t.equal(again.status, 200, 'assigning twice is fine');
    t.same(again.body, second.body);
    const removed = await env.request('DELETE', memberRolePath(g, target.user.id, a.id), { cookie: g.owner.cookie });
    t.equal(removed.status, 204);
    t.equal(removed.body, '');
    const twice = await env.request('DELETE', memberRolePath(g, target.user.id, a.id), { cookie: g.owner.cookie });
    t.equal(twice.status, 204, 'removing twice is fine');
    await env.flush(socket, watcher.user.id);
    t.same(seen, [
      { userId: target.user.id, serverId: g.server.id, roleIds: [a.id] },
      { userId: target.user.id, serverId: g.server.id, roleIds: [b.id, a.id] },
      { userId: target.user.id, serverId: g.server.id, roleIds: [b.id] },
    ], 'one event per change, none for the no-ops');
    t.same(rechecks, [g.server.id, g.server.id, g.server.id]);
    const members = await env.request('GET', `/api/servers/${g.server.id}/members`, { cookie: g.owner.cookie });
    t.same(members.body.members.find((m: { id: string }) => m.id === target.user.id).roles, [b.id]);
  });

  t.test('no escalation by assignment: a role with bits the caller lacks cannot be handed out, not even to themselves', async (t) => {
    const admin = await createRole(env, g, { name: 'Admins', permissions: Flags.ADMINISTRATOR.toString() });
    const kicker = await createRole(env, g, { name: 'Kickers', permissions: Flags.KICK_MEMBERS.toString() });
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES, 'Managers'); // created last: above both
    for (const [role, who] of [[admin, manager.user.id], [kicker, target.user.id]] as const) {
      const res = await env.request('PUT', memberRolePath(g, who, role.id), { cookie: manager.cookie });
      assertError(t, res, 403, 'You cannot grant permissions you do not have', role.name);
    }
    const mine = await env.request('GET', `/api/servers/${g.server.id}/members`, { cookie: manager.cookie });
    t.equal(mine.body.myPermissions, (DEFAULT_EVERYONE_PERMISSIONS | Flags.MANAGE_ROLES).toString(), 'still only what the role gave');
  });

  t.test("someone else's roles change only from above them: never the owner's", async (t) => {
    const low = await createRole(env, g, { name: 'Low' });
    await assignRole(env, g, g.owner.user.id, low.id);
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES, 'Managers2');
    const res = await env.request('DELETE', memberRolePath(g, g.owner.user.id, low.id), { cookie: manager.cookie });
    assertError(t, res, 403, 'You can only change the roles of members below your highest role');
    t.equal((await env.request('PUT', memberRolePath(g, target.user.id, low.id), { cookie: manager.cookie })).status, 200, 'a plain member is fine');
  });

  t.test('404 for an unknown or foreign role and for a non-member target', async (t) => {
    const other = await createGuild(env);
    const foreign = await createRole(env, other);
    const stranger = await env.register('stranger');
    for (const method of ['PUT', 'DELETE']) {
      assertError(t, await env.request(method, memberRolePath(g, target.user.id, '12345'), { cookie: g.owner.cookie }), 404, 'Role not found');
      assertError(t, await env.request(method, memberRolePath(g, target.user.id, foreign.id), { cookie: g.owner.cookie }), 404, 'Role not found');
      assertError(t, await env.request(method, memberRolePath(g, stranger.user.id, a.id), { cookie: g.owner.cookie }), 404, 'Member not found');
      assertError(t, await env.request(method, memberRolePath(g, '12345', a.id), { cookie: g.owner.cookie }), 404, 'Member not found');
      const unknownServer = await env.request(method, `/api/servers/12345/members/${target.user.id}/roles/${a.id}`, { cookie: g.owner.cookie });
      assertError(t, unknownServer, 404, 'Server not found');
    }
  });

  t.test('@everyone is never assigned or removed', async (t) => {
    assertError(t, await env.request('PUT', memberRolePath(g, target.user.id, g.server.id), { cookie: g.owner.cookie }), 400, 'Cannot assign @everyone role');
    assertError(t, await env.request('DELETE', memberRolePath(g, target.user.id, g.server.id), { cookie: g.owner.cookie }), 400, 'Cannot remove @everyone role');
  });

  t.test('403 for a non-member, without MANAGE_ROLES, and for a role at or above the caller\'s top role', async (t) => {
    const outsider = await env.register('outsider');
    const manager = await memberWith(env, g, Flags.MANAGE_ROLES);
    const high = await createRole(env, g, { name: 'High' });
    for (const method of ['PUT', 'DELETE']) {
      assertError(t, await env.request(method, memberRolePath(g, target.user.id, a.id), { cookie: outsider.cookie }), 403, 'You are not a member of this server');
      assertError(t, await env.request(method, memberRolePath(g, target.user.id, a.id), { cookie: watcher.cookie }), 403, 'Missing permission: MANAGE_ROLES');
      assertError(t, await env.request(method, memberRolePath(g, target.user.id, high.id), { cookie: manager.cookie }), 403, 'below your highest role');
      assertError(t, await env.request(method, memberRolePath(g, target.user.id, manager.role.id), { cookie: manager.cookie }), 403, 'below your highest role');
    }
    const below = await env.request('PUT', memberRolePath(g, watcher.user.id, a.id), { cookie: manager.cookie });
    t.equal(below.status, 200, 'a role below the manager\'s top role');
    t.equal((await env.request('DELETE', memberRolePath(g, watcher.user.id, a.id), { cookie: manager.cookie })).status, 204);
  });
});

t.test('a server has at most MAX_ROLES roles', async (t) => {
  const g = await createGuild(env);
  const { sql, ids } = env.resources;
  const filler = Array.from({ length: MAX_ROLES - 1 }, (_, i) => ({ id: ids.next(), server_id: g.server.id, name: `r${i}`, position: i + 1 }));
  await sql`INSERT INTO roles ${sql(filler)}`; // with @everyone: exactly the limit
  assertError(t, await env.request('POST', rolesPath(g), { cookie: g.owner.cookie, json: {} }), 400, `A server can have at most ${MAX_ROLES} roles`);
});
