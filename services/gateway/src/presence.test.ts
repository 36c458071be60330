// Presence across two gateways on one Redis, with real socket clients: a user is online while any
// socket of theirs is open on any gateway, presence_update fires only on the 0↔1 transitions, the
// member list reads it live, and a gateway killed without cleanup (heartbeat stopped, connections
// dropped) has its users go offline and its voice states end within the configured bound.
import t from 'tap';
import { nextEvent, record, setup, startGateway, type TestSocket } from '../../../test/harness.ts';
import { addMember, createGuild, listenToServer, roomAck, type RoomAck } from '../../../test/guild.ts';

// Short liveness so a killed gateway is reaped within ~0.5 s.
const HEARTBEAT_MS = 100;
const TTL_MS = 300;
const env = await setup(t, { PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS), PRESENCE_TTL_MS: String(TTL_MS) });
const second = await startGateway(t, env.resources);

const statusOf = async (serverId: string, cookie: string, userId: string) => {
  const res = await env.request('GET', `/api/servers/${serverId}/members`, { cookie });
  return res.body.members.find((m: { id: string }) => m.id === userId)?.status;
};

const isFor = (userId: string, status: string) => (p: { userId: string; status: string }) => p.userId === userId && p.status === status;

/** Emits a voice event and resolves with its ack. */
function voiceAck(socket: TestSocket, event: 'join_voice' | 'leave_voice' | 'voice_state_change', arg: unknown): Promise<RoomAck> {
  const untyped = socket as unknown as { emit(e: string, a: unknown, cb: (r: RoomAck) => void): void };
  return new Promise((resolve) => untyped.emit(event, arg, resolve));
}

const closed = (socket: TestSocket) => new Promise<void>((resolve) => {
  socket.once('disconnect', () => resolve());
  socket.close();
});

t.test('multi-tab on two gateways: one online, one offline', async (t) => {
  const guild = await createGuild(env, 'presence');
  const member = await addMember(env, guild);
  const observer = await listenToServer(env, t, guild.owner.cookie, guild.server.id);
  const seen = record(observer, 'presence_update');
  const mine = () => seen.filter((p) => p.userId === member.user.id).map((p) => p.status);

  t.equal(await statusOf(guild.server.id, guild.owner.cookie, member.user.id), 'offline', 'listed offline before connecting');

  const online = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'online') });
  const tab1 = await env.connect(member.cookie);
  t.same(await online, { userId: member.user.id, username: member.user.username, status: 'online' }, 'first socket: online');
  t.equal(await statusOf(guild.server.id, guild.owner.cookie, member.user.id), 'online', 'the member list shows them online');

  const tab2 = await second.connect(member.cookie);
  // Barrier: another user's transition on the same gateway is announced after the second tab's.
  const other = await addMember(env, guild);
  const otherOnline = nextEvent(observer, 'presence_update', { filter: isFor(other.user.id, 'online') });
  const otherSocket = await second.connect(other.cookie);
  await otherOnline;
  t.same(mine(), ['online'], 'a second tab on another gateway announces nothing');

  await closed(tab1);
  const otherOffline = nextEvent(observer, 'presence_update', { filter: isFor(other.user.id, 'offline') });
  await closed(otherSocket);
  await otherOffline;
  t.same(mine(), ['online'], 'closing one of two tabs announces nothing');
  t.equal(await statusOf(guild.server.id, guild.owner.cookie, member.user.id), 'online', 'still listed online');

  const offline = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'offline') });
  await closed(tab2);
  t.same(await offline, { userId: member.user.id, username: member.user.username, status: 'offline' }, 'last socket: offline');
  t.equal(await statusOf(guild.server.id, guild.owner.cookie, member.user.id), 'offline', 'listed offline again');
});

t.test('tabs opening and closing at once on both gateways: exactly one transition each way', async (t) => {
  const guild = await createGuild(env, 'race');
  const member = await addMember(env, guild);
  const observer = await listenToServer(env, t, guild.owner.cookie, guild.server.id);
  const seen = record(observer, 'presence_update');
  const online = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'online') });
  const tabs = await Promise.all([env.connect(member.cookie), second.connect(member.cookie), env.connect(member.cookie), second.connect(member.cookie)]);
  await online;
  const offline = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'offline') });
  await Promise.all(tabs.map(closed));
  await offline;
  // Barrier: another user's transition, announced after anything left of the member's.
  const other = await addMember(env, guild);
  const otherOnline = nextEvent(observer, 'presence_update', { filter: isFor(other.user.id, 'online') });
  const otherSocket = await env.connect(other.cookie);
  t.teardown(() => otherSocket.close());
  await otherOnline;
  t.same(seen.filter((p) => p.userId === member.user.id).map((p) => p.status), ['online', 'offline'], 'one online, one offline');
});

t.test('presence goes only to the rooms of the user\'s servers', async (t) => {
  const guild = await createGuild(env, 'mine');
  const elsewhere = await createGuild(env, 'theirs');
  const member = await addMember(env, guild);
  const stranger = await listenToServer(env, t, elsewhere.owner.cookie, elsewhere.server.id);
  const strangerSeen = record(stranger, 'presence_update');
  const observer = await listenToServer(env, t, guild.owner.cookie, guild.server.id);
  const online = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'online') });
  const socket = await env.connect(member.cookie);
  t.teardown(() => socket.close());
  await online;
  // Barrier for the stranger: a transition of someone in their own server.
  const friend = await addMember(env, elsewhere);
  const friendOnline = nextEvent(stranger, 'presence_update', { filter: isFor(friend.user.id, 'online') });
  const friendSocket = await env.connect(friend.cookie);
  t.teardown(() => friendSocket.close());
  await friendOnline;
  t.notOk(strangerSeen.some((p) => p.userId === member.user.id), 'a non-member hears nothing of them');
});

t.test('a gateway killed without cleanup: its users go offline and their voice ends, within the bound', async (t) => {
  const doomed = await startGateway(t, env.resources);
  const guild = await createGuild(env, 'crash');
  const member = await addMember(env, guild);
  const channels = await env.request('GET', `/api/channels/${guild.server.id}`, { cookie: guild.owner.cookie });
  const voiceChannel = channels.body.find((c: { type: string }) => c.type === 'voice');
  const observer = await listenToServer(env, t, guild.owner.cookie, guild.server.id);

  const online = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'online') });
  const socket = await doomed.connect(member.cookie);
  await online;
  const joined = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && p.joined });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceChannel.id, serverId: guild.server.id }), { ok: true });
  await joined;

  // "Kill" it: no more heartbeats, no cleanup, connections dropped.
  const offline = nextEvent(observer, 'presence_update', { filter: isFor(member.user.id, 'offline'), timeoutMs: 5000 });
  const voiceEnded = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && !p.joined, timeoutMs: 5000 });
  const killedAt = performance.now();
  doomed.gateway.presence.halt();
  doomed.gateway.io.engine.close();
  t.same(await offline, { userId: member.user.id, username: member.user.username, status: 'offline' }, 'reported offline to the other gateway\'s client');
  t.match(await voiceEnded, { userId: member.user.id, channelId: voiceChannel.id, joined: false }, 'its voice state ended');
  t.ok(performance.now() - killedAt < TTL_MS + 2 * HEARTBEAT_MS + 1000, 'within TTL + heartbeat (+ slack)');

  const again = await env.connect(guild.owner.cookie);
  t.teardown(() => again.close());
  const snap = nextEvent(again, 'voice_states');
  t.same(await roomAck(again, 'join_server', guild.server.id), { ok: true });
  t.same((await snap).states, [], 'the snapshot no longer lists them');
  t.equal(await statusOf(guild.server.id, guild.owner.cookie, member.user.id), 'offline', 'listed offline');
  t.equal(await env.resources.redis.exists(`${env.resources.keys.realtime}hb:${doomed.gateway.presence.id}`), 0, 'its heartbeat is gone');
  t.equal(await env.resources.redis.sismember(`${env.resources.keys.realtime}nodes`, doomed.gateway.presence.id), 0, 'and so is the node');
});
