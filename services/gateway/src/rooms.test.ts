// Checked room joins against a real API, Postgres, Redis and two gateways: join_server and
// join_channel admit members (and VIEW_CHANNEL) only, answer acks, and change nothing when
// refused; kick, ban, leave, server deletion and a VIEW_CHANNEL-removing change pull the user's
// sockets out of the rooms on every gateway, and nothing of that server reaches them afterwards.
import t, { type Test } from 'tap';
import type { Gateway } from '@nexusguild/gateway';
import { RECHECK_ACCESS, rooms } from '@nexusguild/shared/events';
import { createSql } from '@nexusguild/shared/db/index';
import { channelsRepo } from '@nexusguild/shared/repos/channels';
import { leavesRoom, nextEvent, record, setup, startGateway, untilBlocked, type TestSocket } from '../../../test/harness.ts';
import { addMember, createGuild, roomAck, type GuildFixture, type Registered, type RoomAck } from '../../../test/guild.ts';
import { MAX_ROOMS } from './handlers/rooms.ts';

const env = await setup(t);

// A second gateway on the same Redis and database, as a second process would be.
const { gateway: gateway2, connect: connect2 } = await startGateway(t, env.resources);

/** Ids of this gateway's own sockets in `room` (the adapter's local view). */
const local = (gateway: Gateway, room: string) => [...(gateway.io.of('/').adapter.rooms.get(room) ?? [])].sort();

/** User ids of every socket in `room`, on any gateway (asked across the adapter). */
async function usersIn(room: string): Promise<string[]> {
  return (await env.gateway.io.in(room).fetchSockets()).map((s) => s.data.userId).sort();
}

/** Resolves when `socketId` leaves `room` on `gateway` (register before the action). */
const socketId = (s: TestSocket) => s.id ?? '';

/** Renames the server (→ server_updated) and creates a channel (→ channel_created) as the owner. */
async function serverActivity(guild: GuildFixture, name: string) {
  const renamed = await env.request('PATCH', `/api/servers/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name } });
  if (renamed.status !== 200) throw new Error(`rename failed: ${renamed.status} ${JSON.stringify(renamed.body)}`);
  const created = await env.request('POST', `/api/channels/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name: `${name}-chan`, type: 'text' } });
  if (created.status !== 201) throw new Error(`create channel failed: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body as { id: string };
}

async function createChannel(guild: GuildFixture, name: string, type = 'text'): Promise<{ id: string }> {
  const res = await env.request('POST', `/api/channels/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name, type } });
  if (res.status !== 201) throw new Error(`create channel failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function putOverride(guild: GuildFixture, channelId: string, targetId: string, targetType: 'role' | 'member', allow: string, deny: string) {
  const res = await env.request('PUT', `/api/channels/${channelId}/permissions/${targetId}`, {
    cookie: guild.owner.cookie,
    json: { target_type: targetType, allow, deny },
  });
  if (res.status !== 200) throw new Error(`override failed: ${res.status} ${JSON.stringify(res.body)}`);
}

const VIEW_CHANNEL = '1024';
const NOT_A_MEMBER = { ok: false, error: 'You are not a member of this server' };

t.test('join_server', async (t) => {
  const guild = await createGuild(env, 'joins');
  const member = await addMember(env, guild);
  const serverRoom = rooms.server(guild.server.id);

  t.test('a member joins with each argument shape and gets { ok: true }', async (t) => {
    const [a, b, c] = await Promise.all([env.connect(member.cookie), env.connect(member.cookie), connect2(member.cookie)]);
    t.same(await roomAck(a, 'join_server', guild.server.id), { ok: true });
    t.same(await roomAck(b, 'join_server', { serverId: guild.server.id }), { ok: true });
    t.same(await roomAck(c, 'join_server', { id: guild.server.id }), { ok: true });
    t.same(await roomAck(a, 'join_server', guild.server.id), { ok: true }, 'joining again is fine');
    t.same(local(env.gateway, serverRoom), [socketId(a), socketId(b)].sort());
    t.same(local(gateway2, serverRoom), [socketId(c)]);

    // And the room delivers: a rename reaches all three.
    const got = [a, b, c].map((s) => nextEvent(s, 'server_updated'));
    await serverActivity(guild, 'renamed');
    for (const p of await Promise.all(got)) t.equal(p.name, 'renamed');
    for (const s of [a, b, c]) s.close();
  });

  t.test('without an ack, or with a non-function in its place, the join still happens', async (t) => {
    const s = await env.connect(member.cookie);
    const joined = new Promise<void>((resolve) => {
      const adapter = env.gateway.io.of('/').adapter;
      const listener = (room: string, id: string) => {
        if (room === serverRoom && id === socketId(s)) {
          adapter.off('join-room', listener);
          resolve();
        }
      };
      adapter.on('join-room', listener);
    });
    (s as unknown as { emit(e: string, ...a: unknown[]): void }).emit('join_server', guild.server.id, 'not a function');
    await joined;
    t.ok(local(env.gateway, serverRoom).includes(socketId(s)));
    // The socket is still served normally afterwards.
    t.same(await roomAck(s, 'leave_server', guild.server.id), { ok: true });
    s.close();
  });

  t.test('a non-member is refused, stays out, and receives nothing of the server', async (t) => {
    const outsider = await env.register('outsider');
    const o = await env.connect(outsider.cookie);
    const o2 = await connect2(outsider.cookie);
    const m = await env.connect(member.cookie);
    t.same(await roomAck(m, 'join_server', guild.server.id), { ok: true });
    t.same(await roomAck(o, 'join_server', guild.server.id), NOT_A_MEMBER);
    t.same(await roomAck(o2, 'join_server', { serverId: guild.server.id }), NOT_A_MEMBER);
    t.same(await roomAck(o, 'join_channel', guild.general.id), NOT_A_MEMBER);
    const held = [...env.gateway.io.of('/').sockets.values()].find((s) => s.id === socketId(o));
    t.equal(held?.rooms.size, 3, 'still only its own, personal and session rooms');
    t.notOk((await usersIn(serverRoom)).includes(outsider.user.id));
    t.notOk((await usersIn(rooms.channel(guild.general.id))).includes(outsider.user.id));

    const seen = [record(o, 'server_updated'), record(o2, 'server_updated')];
    const created = [record(o, 'channel_created'), record(o2, 'channel_created')];
    const memberGot = Promise.all([nextEvent(m, 'server_updated'), nextEvent(m, 'channel_created')]);
    await serverActivity(guild, 'private-affairs');
    await memberGot;
    await env.flush([o, o2], outsider.user.id);
    t.same(seen, [[], []], 'no server_updated');
    t.same(created, [[], []], 'no channel_created');
    for (const s of [o, o2, m]) s.close();
  });

  t.test('missing servers and malformed ids are refused', async (t) => {
    const s = await env.connect(member.cookie);
    t.same(await roomAck(s, 'join_server', '1'), { ok: false, error: 'Server not found' });
    // Well-formed (20 digits) but beyond BIGINT: cannot exist, and must not become a database error.
    t.same(await roomAck(s, 'join_server', '99999999999999999999'), { ok: false, error: 'Server not found' });
    const bad: unknown[] = [
      '', 'abc', '-1', '1.5', ' 1', '123456789012345678901', 12345, null, {}, [guild.server.id],
      { serverId: 12 }, { channelId: guild.server.id }, { serverId: 'x', id: guild.server.id },
    ];
    for (const arg of bad) t.same(await roomAck(s, 'join_server', arg), { ok: false, error: 'Invalid id' }, JSON.stringify(arg));
    t.same(await roomAck(s, 'join_channel', 'abc'), { ok: false, error: 'Invalid id' });
    t.same(await roomAck(s, 'join_channel', { serverId: guild.general.id }), { ok: false, error: 'Invalid id' });
    const held = [...env.gateway.io.of('/').sockets.values()].find((x) => x.id === socketId(s));
    t.equal(held?.rooms.size, 3, 'still only its own, personal and session rooms');
    s.close();
  });
});

t.test('join_channel', async (t) => {
  const guild = await createGuild(env, 'chans');
  const member = await addMember(env, guild);
  const secret = await createChannel(guild, 'secret');
  await putOverride(guild, secret.id, guild.server.id, 'role', '0', VIEW_CHANNEL); // @everyone's role id is the server id
  const voice = await createChannel(guild, 'Lounge', 'voice');
  const category = await createChannel(guild, 'Stuff', 'category');

  t.test('a member who can view joins; text, voice and category alike', async (t) => {
    const s = await connect2(member.cookie);
    t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
    t.same(await roomAck(s, 'join_channel', { channelId: voice.id }), { ok: true });
    t.same(await roomAck(s, 'join_channel', { id: category.id }), { ok: true });
    for (const id of [guild.general.id, voice.id, category.id]) t.same(local(gateway2, rooms.channel(id)), [socketId(s)]);
    t.same(local(gateway2, rooms.server(guild.server.id)), [], 'joining a channel does not join the server room');
    s.close();
  });

  t.test('without VIEW_CHANNEL the join is refused and changes nothing; the owner still joins', async (t) => {
    const s = await env.connect(member.cookie);
    const o = await env.connect(guild.owner.cookie);
    t.same(await roomAck(s, 'join_channel', secret.id), { ok: false, error: 'Missing permission: VIEW_CHANNEL' });
    t.same(await roomAck(o, 'join_channel', secret.id), { ok: true });
    t.same(await usersIn(rooms.channel(secret.id)), [guild.owner.user.id]);
    s.close();
    o.close();
  });

  t.test("a thread follows its parent channel's overrides", async (t) => {
    // Thread routes come with the messages issue: the rows are written directly here.
    const [hidden, open] = [env.resources.ids.next(), env.resources.ids.next()];
    await env.resources.sql`INSERT INTO channels (id, server_id, type, name, parent_id) VALUES
      (${hidden}, ${guild.server.id}, 'thread', 'in secret', ${secret.id}),
      (${open}, ${guild.server.id}, 'thread', 'in general', ${guild.general.id})`;
    const s = await env.connect(member.cookie);
    t.same(await roomAck(s, 'join_channel', hidden), { ok: false, error: 'Missing permission: VIEW_CHANNEL' });
    t.same(await roomAck(s, 'join_channel', open), { ok: true });
    s.close();
  });

  t.test('missing channels are refused', async (t) => {
    const s = await env.connect(member.cookie);
    t.same(await roomAck(s, 'join_channel', '1'), { ok: false, error: 'Channel not found' });
    t.same(await roomAck(s, 'join_channel', '99999999999999999999'), { ok: false, error: 'Channel not found' });
    s.close();
  });
});

t.test('leave_server and leave_channel always succeed', async (t) => {
  const guild = await createGuild(env, 'leaves');
  const s = await env.connect(guild.owner.cookie);
  t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true });
  t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
  t.same(await roomAck(s, 'leave_server', { serverId: guild.server.id }), { ok: true });
  t.same(await roomAck(s, 'leave_channel', guild.general.id), { ok: true });
  t.same(local(env.gateway, rooms.server(guild.server.id)), []);
  t.same(local(env.gateway, rooms.channel(guild.general.id)), []);
  for (const arg of [guild.server.id, 'nonsense', null, { id: '5' }]) {
    t.same(await roomAck(s, 'leave_server', arg), { ok: true }, `leave_server ${JSON.stringify(arg)}`);
    t.same(await roomAck(s, 'leave_channel', arg), { ok: true }, `leave_channel ${JSON.stringify(arg)}`);
  }
  s.close();
});

/** Runs `during` while the servers table is locked, so a join's membership check waits. */
async function whileChecking(during: () => Promise<void>) {
  let locked!: () => void;
  let release!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const tx = env.resources.sql.begin(async (sql) => {
    await sql`LOCK TABLE servers IN ACCESS EXCLUSIVE MODE`;
    locked();
    await released;
  });
  await isLocked;
  try {
    await during();
  } finally {
    release();
    await tx;
  }
}

t.test('a leave that overtakes a join still being checked wins', async (t) => {
  const guild = await createGuild(env, 'races');
  const member = await addMember(env, guild);
  const serverRoom = rooms.server(guild.server.id);

  t.test("the client's own leave", async (t) => {
    const s = await env.connect(member.cookie);
    let join!: Promise<RoomAck>;
    await whileChecking(async () => {
      join = roomAck(s, 'join_server', guild.server.id, 10_000);
      // Handled after join_server started (one socket's packets are handled in order).
      t.same(await roomAck(s, 'leave_server', guild.server.id), { ok: true });
    });
    t.same(await join, { ok: false, error: 'Left the room before the join completed' });
    t.same(local(env.gateway, serverRoom), []);
    s.close();
  });

  t.test("the API's forced leave (what a kick sends) on another gateway", async (t) => {
    const s = await connect2(member.cookie);
    let join!: Promise<RoomAck>;
    await whileChecking(async () => {
      join = roomAck(s, 'join_server', guild.server.id, 10_000);
      await roomAck(s, 'leave_channel', '1'); // the join handler has started
      env.resources.publisher.leaveRooms(member.user.id, [serverRoom]);
      await env.flush(s, member.user.id);
    });
    t.same(await join, { ok: false, error: 'Left the room before the join completed' });
    t.same(local(gateway2, serverRoom), []);
    // Without the race the same member joins.
    t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true });
    s.close();
  });
});

t.test('a join checked against data a recheck has since replaced checks again', async (t) => {
  const guild = await createGuild(env, 'stale');
  const member = await addMember(env, guild);
  const s = await env.connect(member.cookie);
  let join!: Promise<RoomAck>;
  await whileChecking(async () => {
    join = roomAck(s, 'join_channel', guild.general.id, 10_000);
    await untilBlocked(env.resources.sql, { table: 'servers' }); // the join has read the channel's overrides and waits on membership
    // An override change commits and its recheck reaches the gateway before the join completes;
    // the recheck finds no socket in the room yet, so only the join itself can notice.
    await channelsRepo(env.resources.sql).putOverride({
      channelId: guild.general.id, targetId: guild.server.id, targetType: 'role', allow: 0n, deny: BigInt(VIEW_CHANNEL),
    });
    const arrived = new Promise<void>((resolve) => env.gateway.io.once(RECHECK_ACCESS, () => resolve()));
    env.resources.publisher.recheckAccess(guild.server.id);
    await arrived;
  });
  t.same(await join, { ok: false, error: 'Missing permission: VIEW_CHANNEL' });
  t.same(local(env.gateway, rooms.channel(guild.general.id)), []);
  s.close();
});

t.test('a gateway whose database is unreachable answers "Service unavailable" and carries on', async (t) => {
  // Nothing listens on port 1: every query fails at once with ECONNREFUSED.
  const deadSql = createSql('postgres://nobody@127.0.0.1:1/none');
  const gateway3 = await startGateway(t, { ...env.resources, sql: deadSql });
  t.teardown(() => deadSql.end({ timeout: 1 }));
  const { cookie } = await env.register('nodb');
  const s = await gateway3.connect(cookie);
  t.same(await roomAck(s, 'join_server', '123'), { ok: false, error: 'Service unavailable' });
  t.same(await roomAck(s, 'join_channel', { channelId: '123' }), { ok: false, error: 'Service unavailable' });
  t.same(await roomAck(s, 'leave_server', '123'), { ok: true });
  t.ok(s.connected, 'the socket is still connected');
});

t.test('a socket may be in a bounded number of rooms', async (t) => {
  const guild = await createGuild(env, 'caps');
  const s = await env.connect(guild.owner.cookie);
  const held = [...env.gateway.io.of('/').sockets.values()].find((x) => x.id === socketId(s));
  if (!held) throw new Error('socket not held');
  held.join(Array.from({ length: MAX_ROOMS.channel }, (_, i) => rooms.channel(`${900_000 + i}`)));
  t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: false, error: `Too many channel rooms (at most ${MAX_ROOMS.channel})` });
  t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true }, 'server rooms count separately');
  t.same(await roomAck(s, 'leave_channel', '900000'), { ok: true });
  t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
  s.close();
});

/**
 * A member with a socket on each gateway, in the server room and #general; `remove` takes the
 * membership away. Afterwards the sockets are in none of the server's rooms anywhere, their own
 * join attempts are refused, and server activity does not reach them.
 */
async function assertRemovedEverywhere(t: Test, remove: (guild: GuildFixture, member: Registered) => Promise<void>) {
  const guild = await createGuild(env, 'gone');
  const member = await addMember(env, guild);
  const stayer = await addMember(env, guild);
  const [a, b, other] = await Promise.all([env.connect(member.cookie), connect2(member.cookie), connect2(stayer.cookie)]);
  for (const s of [a, b, other]) {
    t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true });
    t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
  }
  t.ok((await usersIn(rooms.server(guild.server.id))).includes(member.user.id), 'in the server room before');

  await remove(guild, member);
  await env.flush([a, b], member.user.id);
  for (const room of [rooms.server(guild.server.id), rooms.channel(guild.general.id)]) {
    t.same(local(env.gateway, room), [], `gateway 1 holds nobody in ${room}`);
    t.same(local(gateway2, room), [socketId(other)], `gateway 2 holds only the remaining member in ${room}`);
  }

  for (const s of [a, b]) {
    t.same(await roomAck(s, 'join_server', guild.server.id), NOT_A_MEMBER, 'joining the server again is refused');
    t.same(await roomAck(s, 'join_channel', guild.general.id), NOT_A_MEMBER, 'joining the channel again is refused');
  }
  const seen = [a, b].map((s) => [record(s, 'server_updated'), record(s, 'channel_created')]);
  const otherGot = Promise.all([nextEvent(other, 'server_updated'), nextEvent(other, 'channel_created')]);
  await serverActivity(guild, 'after');
  await otherGot;
  await env.flush([a, b], member.user.id);
  t.same(seen, [[[], []], [[], []]], 'nothing of the server reached the removed member');
  for (const s of [a, b, other]) s.close();
}

t.test('a kicked member leaves every room of the server on both gateways', (t) =>
  assertRemovedEverywhere(t, async (guild, member) => {
    const res = await env.request('DELETE', `/api/servers/${guild.server.id}/members/${member.user.id}`, { cookie: guild.owner.cookie });
    t.equal(res.status, 204);
  }));

t.test('a banned member likewise', (t) =>
  assertRemovedEverywhere(t, async (guild, member) => {
    const res = await env.request('POST', `/api/servers/${guild.server.id}/bans/${member.user.id}`, { cookie: guild.owner.cookie, json: {} });
    t.equal(res.status, 201);
  }));

t.test('a member who leaves likewise', (t) =>
  assertRemovedEverywhere(t, async (guild, member) => {
    const res = await env.request('POST', `/api/servers/${guild.server.id}/leave`, { cookie: member.cookie });
    t.equal(res.status, 200);
  }));

t.test('deleting a server empties its rooms on every gateway', async (t) => {
  const guild = await createGuild(env, 'doomed');
  const member = await addMember(env, guild);
  const [o, m] = await Promise.all([env.connect(guild.owner.cookie), connect2(member.cookie)]);
  for (const s of [o, m]) {
    t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true });
    t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
  }
  const deleted = Promise.all([nextEvent(o, 'server_deleted'), nextEvent(m, 'server_deleted')]);
  t.equal((await env.request('DELETE', `/api/servers/${guild.server.id}`, { cookie: guild.owner.cookie })).status, 204);
  t.same(await deleted, [{ serverId: guild.server.id }, { serverId: guild.server.id }]);
  await Promise.all([env.flush(o, guild.owner.user.id), env.flush(m, member.user.id)]);
  t.same(await usersIn(rooms.server(guild.server.id)), []);
  t.same(await usersIn(rooms.channel(guild.general.id)), []);
  t.same(await roomAck(m, 'join_server', guild.server.id), { ok: false, error: 'Server not found' });
  t.same(await roomAck(m, 'join_channel', guild.general.id), { ok: false, error: 'Channel not found' });
  o.close();
  m.close();
});

t.test('losing VIEW_CHANNEL removes the socket from the channel room on every gateway', async (t) => {
  const guild = await createGuild(env, 'recheck');
  const [viewer, loser] = [await addMember(env, guild), await addMember(env, guild)];
  const general = rooms.channel(guild.general.id);
  const [o, l1, l2, v2] = await Promise.all([
    env.connect(guild.owner.cookie), env.connect(loser.cookie), connect2(loser.cookie), connect2(viewer.cookie),
  ]);
  for (const s of [o, l1, l2, v2]) {
    t.same(await roomAck(s, 'join_server', guild.server.id), { ok: true });
    t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
  }
  // The viewer keeps VIEW_CHANNEL through a member override; everyone else loses it.
  await putOverride(guild, guild.general.id, viewer.user.id, 'member', VIEW_CHANNEL, '0');
  const gone = Promise.all([leavesRoom(env.gateway, general, socketId(l1)), leavesRoom(gateway2, general, socketId(l2))]);
  await putOverride(guild, guild.general.id, guild.server.id, 'role', '0', VIEW_CHANNEL);
  await gone;
  // Each gateway rechecks all its sockets in one pass, so the others are settled by now.
  t.same(local(env.gateway, general), [socketId(o)], 'gateway 1: the owner stays');
  t.same(local(gateway2, general), [socketId(v2)], 'gateway 2: the member who can still view stays');
  t.same(await usersIn(rooms.server(guild.server.id)), [guild.owner.user.id, loser.user.id, loser.user.id, viewer.user.id].sort(), 'still members: the server room is untouched');
  t.same(await roomAck(l1, 'join_channel', guild.general.id), { ok: false, error: 'Missing permission: VIEW_CHANNEL' });

  // Taking the override away again gives the channel back.
  t.equal((await env.request('DELETE', `/api/channels/${guild.general.id}/permissions/${guild.server.id}`, { cookie: guild.owner.cookie })).status, 204);
  t.same(await roomAck(l2, 'join_channel', guild.general.id), { ok: true });
  for (const s of [o, l1, l2, v2]) s.close();
});

t.test('losing the role that granted VIEW_CHANNEL removes the socket from the channel room', async (t) => {
  const guild = await createGuild(env, 'rolecheck');
  const member = await addMember(env, guild);
  const staff = await createChannel(guild, 'staff');
  const role = await env.request('POST', `/api/servers/${guild.server.id}/roles`, { cookie: guild.owner.cookie, json: { name: 'staff' } });
  t.equal(role.status, 201);
  await putOverride(guild, staff.id, guild.server.id, 'role', '0', VIEW_CHANNEL);
  await putOverride(guild, staff.id, role.body.id, 'role', VIEW_CHANNEL, '0');
  const assign = `/api/servers/${guild.server.id}/members/${member.user.id}/roles/${role.body.id}`;
  t.equal((await env.request('PUT', assign, { cookie: guild.owner.cookie })).status, 200);

  const s = await connect2(member.cookie);
  t.same(await roomAck(s, 'join_channel', staff.id), { ok: true });
  t.same(await roomAck(s, 'join_channel', guild.general.id), { ok: true });
  const gone = leavesRoom(gateway2, rooms.channel(staff.id), socketId(s));
  t.equal((await env.request('DELETE', assign, { cookie: guild.owner.cookie })).status, 204);
  await gone;
  t.same(local(gateway2, rooms.channel(guild.general.id)), [socketId(s)], 'still in the channel it can view');
  s.close();
});
