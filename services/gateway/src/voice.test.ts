// Voice state across two gateways on one Redis, with real socket clients: join_voice checks
// (member, a voice channel of that server, CONNECT at channel level), voice_state_update to those
// who may view the channel, the voice_states snapshot on join_server, mute/deafen, switching
// channels, leave, ownership by the joining socket (another tab closing does not end it), and the ends on
// disconnect, kick, a graceful gateway shutdown and channel deletion.
import t from 'tap';
import { Flags } from '@nexusguild/shared/permissions';
import { nextEvent, record, setup, startGateway, type TestSocket } from '../../../test/harness.ts';
import { addMember, createGuild, listenToServer, roomAck, type GuildFixture, type RoomAck } from '../../../test/guild.ts';

const env = await setup(t);
const second = await startGateway(t, env.resources);

function voiceAck(socket: TestSocket, event: 'join_voice' | 'leave_voice' | 'voice_state_change', arg: unknown): Promise<RoomAck> {
  const untyped = socket as unknown as { emit(e: string, a: unknown, cb: (r: RoomAck) => void): void };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 3000);
    untyped.emit(event, arg, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
}

async function voiceChannelOf(g: GuildFixture): Promise<string> {
  const channels = await env.request('GET', `/api/channels/${g.server.id}`, { cookie: g.owner.cookie });
  return channels.body.find((c: { type: string }) => c.type === 'voice').id;
}

async function createVoice(g: GuildFixture, name: string): Promise<string> {
  const res = await env.request('POST', `/api/channels/${g.server.id}`, { cookie: g.owner.cookie, json: { name, type: 'voice' } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
  return res.body.id;
}

/** The voice_states snapshot a fresh socket of `cookie` receives on join_server. */
async function snapshot(g: GuildFixture, cookie = g.owner.cookie) {
  const socket = await env.connect(cookie);
  const states = nextEvent(socket, 'voice_states');
  const ack = await roomAck(socket, 'join_server', g.server.id);
  if (!ack.ok) throw new Error(ack.error);
  const snap = await states;
  socket.close();
  return snap;
}

const update = (userId: string, joined: boolean) => (p: { userId: string; joined: boolean }) => p.userId === userId && p.joined === joined;

t.test('join_voice refusals change nothing', async (t) => {
  const g = await createGuild(env, 'vrefuse');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const stranger = await env.register();
  const other = await createGuild(env, 'vother');
  const otherVoice = await voiceChannelOf(other);
  const socket = await env.connect(member.cookie);
  const strangerSocket = await env.connect(stranger.cookie);
  t.teardown(() => {
    socket.close();
    strangerSocket.close();
  });

  t.same(await voiceAck(socket, 'join_voice', {}), { ok: false, error: 'channelId and serverId are required' });
  t.same(await voiceAck(socket, 'join_voice', voiceId), { ok: false, error: 'channelId and serverId are required' }, 'a bare id is not enough');
  t.same(await voiceAck(socket, 'join_voice', { channelId: 'abc', serverId: g.server.id }), { ok: false, error: 'channelId and serverId are required' });
  t.same(await voiceAck(strangerSocket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: false, error: 'You are not a member of this server' });
  t.same(await voiceAck(socket, 'join_voice', { channelId: g.general.id, serverId: g.server.id }), { ok: false, error: 'Not a voice channel' });
  t.same(await voiceAck(socket, 'join_voice', { channelId: otherVoice, serverId: g.server.id }), { ok: false, error: 'You are not a member of this server' }, 'another server\'s channel');
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: other.server.id }), { ok: false, error: 'Channel not found' }, 'the channel is not in that server');
  t.same(await voiceAck(socket, 'join_voice', { channelId: '123456789', serverId: g.server.id }), { ok: false, error: 'Channel not found' });

  const deny = await env.request('PUT', `/api/channels/${voiceId}/permissions/${member.user.id}`, {
    cookie: g.owner.cookie, json: { target_type: 'member', allow: '0', deny: Flags.CONNECT.toString() },
  });
  t.equal(deny.status, 200);
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: false, error: 'Missing permission: CONNECT' }, 'CONNECT at channel level');
  t.same(await voiceAck(socket, 'voice_state_change', { muted: true }), { ok: false, error: 'Not in a voice channel' });
  t.same((await snapshot(g)).states, [], 'nobody in voice');
});

t.test('across gateways: join, snapshot, mute, switch, leave', async (t) => {
  const g = await createGuild(env, 'vjoin');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id); // gateway 1
  const socket = await second.connect(member.cookie); // gateway 2
  const updates = record(observer, 'voice_state_update');

  const joined = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, true) });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  t.same(await joined, { userId: member.user.id, username: member.user.username, channelId: voiceId, joined: true, muted: false, deafened: false },
    'a join on gateway 2 reaches gateway 1');

  const snap = await snapshot(g);
  t.same(snap, { serverId: g.server.id, states: [{ userId: member.user.id, username: member.user.username, channelId: voiceId, serverId: g.server.id, muted: false, deafened: false }] },
    'join_server sends who is in voice');

  const changed = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && p.muted });
  const inVoiceRoom = nextEvent(socket, 'user_voice_state');
  t.same(await voiceAck(socket, 'voice_state_change', { muted: true }), { ok: true });
  t.match(await changed, { joined: true, muted: true, deafened: false, channelId: voiceId });
  t.same(await inVoiceRoom, { userId: member.user.id, muted: true, deafened: false }, 'user_voice_state to the voice room');
  t.same(await voiceAck(socket, 'voice_state_change', { muted: 'yes' }), { ok: false, error: 'muted and deafened must be booleans' });
  t.same(await voiceAck(socket, 'voice_state_change', { deafened: true }), { ok: true });
  t.match((await snapshot(g)).states[0], { muted: true, deafened: true }, 'the snapshot has the change');

  const other = await createVoice(g, 'Second');
  const leftFirst = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, false) });
  const joinedOther = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && p.joined && p.channelId === other });
  t.same(await voiceAck(socket, 'join_voice', { channelId: other, serverId: g.server.id }), { ok: true });
  t.match(await leftFirst, { channelId: voiceId, joined: false }, 'joining another channel leaves the first');
  t.match(await joinedOther, { channelId: other, muted: false, deafened: false }, 'and a join resets mute');

  t.same(await voiceAck(socket, 'leave_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true }, 'leaving a channel one is not in');
  const left = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, false) });
  t.same(await voiceAck(socket, 'leave_voice', { channelId: other, serverId: g.server.id }), { ok: true });
  t.match(await left, { channelId: other, joined: false });
  t.same((await snapshot(g)).states, []);
  t.equal(updates.filter((p) => p.userId === member.user.id && !p.joined && p.channelId === other).length, 1, 'the stale leave announced nothing');
  socket.close();
});

t.test('the state belongs to the socket that joined', async (t) => {
  const g = await createGuild(env, 'vown');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const tab1 = await second.connect(member.cookie);
  const tab2 = await env.connect(member.cookie);
  const joined = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, true) });
  t.same(await voiceAck(tab1, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  await joined;

  await new Promise<void>((resolve) => {
    tab2.once('disconnect', () => resolve());
    tab2.close();
  });
  t.equal((await snapshot(g)).states.length, 1, 'another tab closing leaves it');

  const left = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, false) });
  tab1.close();
  t.match(await left, { userId: member.user.id, channelId: voiceId, joined: false }, 'its own socket closing ends it');
  t.same((await snapshot(g)).states, []);
});

t.test('a kicked member\'s voice state ends', async (t) => {
  const g = await createGuild(env, 'vkick');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const socket = await second.connect(member.cookie);
  t.teardown(() => socket.close());
  const joined = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, true) });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  await joined;

  const left = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, false) });
  const kicked = await env.request('DELETE', `/api/servers/${g.server.id}/members/${member.user.id}`, { cookie: g.owner.cookie });
  t.equal(kicked.status, 204);
  t.match(await left, { userId: member.user.id, channelId: voiceId, joined: false });
  t.same((await snapshot(g)).states, [], 'gone from the snapshot');
  t.same(await voiceAck(socket, 'voice_state_change', { muted: true }), { ok: false, error: 'Not in a voice channel' });
});

t.test('deleting the voice channel ends the states in it', async (t) => {
  const g = await createGuild(env, 'vdel');
  const voiceId = await createVoice(g, 'Doomed');
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const socket = await env.connect(g.owner.cookie);
  t.teardown(() => socket.close());
  const joined = nextEvent(observer, 'voice_state_update', { filter: update(g.owner.user.id, true) });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  await joined;
  const left = nextEvent(observer, 'voice_state_update', { filter: update(g.owner.user.id, false) });
  t.equal((await env.request('DELETE', `/api/channels/${voiceId}`, { cookie: g.owner.cookie })).status, 204);
  t.match(await left, { channelId: voiceId, joined: false });
  t.same((await snapshot(g)).states, []);
});

t.test('a gateway shutting down ends its users\' presence and voice before its sockets close', async (t) => {
  const closing = await startGateway(t, env.resources);
  const g = await createGuild(env, 'vclose');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const online = nextEvent(observer, 'presence_update', { filter: (p) => p.userId === member.user.id && p.status === 'online' });
  const socket = await closing.connect(member.cookie);
  await online;
  const joined = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, true) });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  await joined;

  // The default heartbeat TTL is 15 s: only the shutdown's own cleanup can announce these in time.
  const offline = nextEvent(observer, 'presence_update', { filter: (p) => p.userId === member.user.id && p.status === 'offline' });
  const left = nextEvent(observer, 'voice_state_update', { filter: update(member.user.id, false) });
  await closing.gateway.close();
  await offline;
  t.match(await left, { channelId: voiceId, joined: false });
  t.same((await snapshot(g)).states, []);
});

t.test('a private voice channel: who is in it reaches only those who may view it', async (t) => {
  const g = await createGuild(env, 'vprivate');
  const hidden = await createVoice(g, 'staff');
  const member = await addMember(env, g);
  const deny = await env.request('PUT', `/api/channels/${hidden}/permissions/${g.server.id}`, {
    cookie: g.owner.cookie, json: { target_type: 'role', allow: '0', deny: Flags.VIEW_CHANNEL.toString() },
  });
  t.equal(deny.status, 200, '@everyone may not view it');
  const outsider = await listenToServer(env, t, member.cookie, g.server.id);
  const heard = record(outsider, 'voice_state_update');
  const owner = await env.connect(g.owner.cookie);
  t.teardown(() => owner.close());

  const ownerHears = nextEvent(await listenToServer(env, t, g.owner.cookie, g.server.id), 'voice_state_update', { filter: update(g.owner.user.id, true) });
  t.same(await voiceAck(owner, 'join_voice', { channelId: hidden, serverId: g.server.id }), { ok: true });
  t.match(await ownerHears, { channelId: hidden }, 'a viewer hears it');
  t.match((await snapshot(g)).states, [{ userId: g.owner.user.id, channelId: hidden }], 'and sees it in the snapshot');
  t.same((await snapshot(g, member.cookie)).states, [], 'the snapshot of a member who may not view it leaves it out');

  // The open voice channel's news reaches the member: nothing of the private one came before it.
  const open = await voiceChannelOf(g);
  const barrier = nextEvent(outsider, 'voice_state_update', { filter: (p) => p.channelId === open });
  t.same(await voiceAck(owner, 'join_voice', { channelId: open, serverId: g.server.id }), { ok: true }, 'switching ends the private state');
  await barrier;
  t.same(heard.map((p) => [p.channelId, p.joined]), [[open, true]], 'neither the join nor the end in the private channel reached them');
});
