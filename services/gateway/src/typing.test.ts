// Typing indicators across two gateways with real socket clients: relayed to the channel room
// without the sender, only from a socket in that room, at most one start per room per interval,
// a stop only after a start, and a disconnect ends the user's typing.
import t from 'tap';
import { nextEvent, record, setup, startGateway, type TestSocket } from '../../../test/harness.ts';
import { addMember, createGuild, roomAck, type GuildFixture } from '../../../test/guild.ts';

const env = await setup(t);
const second = await startGateway(t, env.resources);

async function inChannel(socket: TestSocket, g: GuildFixture, channelId = g.general.id) {
  const ack = await roomAck(socket, 'join_channel', channelId);
  if (!ack.ok) throw new Error(ack.error);
  return socket;
}

const emit = (socket: TestSocket, event: string, arg: unknown) => (socket as unknown as { emit(e: string, a: unknown): void }).emit(event, arg);

t.test('start and stop reach the others in the channel, never the sender', async (t) => {
  const g = await createGuild(env, 'typing');
  const member = await addMember(env, g);
  const a = await inChannel(await env.connect(g.owner.cookie), g); // gateway 1
  const b = await inChannel(await second.connect(member.cookie), g); // gateway 2
  t.teardown(() => {
    a.close();
    b.close();
  });
  const aSaw = record(a, 'user_typing');

  const typing = nextEvent(b, 'user_typing');
  emit(a, 'start_typing', g.general.id);
  t.same(await typing, { channelId: g.general.id, userId: g.owner.user.id, username: g.owner.user.username }, 'bare id');
  const stopped = nextEvent(b, 'user_stop_typing');
  emit(a, 'stop_typing', { channelId: g.general.id });
  t.same(await stopped, { channelId: g.general.id, userId: g.owner.user.id, username: g.owner.user.username }, 'object argument');

  // Barrier: b's typing reaches a after anything a might have got of its own.
  const fromB = nextEvent(a, 'user_typing');
  emit(b, 'start_typing', { id: g.general.id });
  await fromB;
  t.same(aSaw.map((p) => p.userId), [member.user.id], 'the sender never gets its own typing');
});

t.test('a socket not in the channel room relays nothing', async (t) => {
  const g = await createGuild(env, 'outside');
  const member = await addMember(env, g);
  const listener = await inChannel(await env.connect(g.owner.cookie), g);
  const outsider = await second.connect(member.cookie); // a member, but never joined the channel room
  const stranger = await second.connect((await env.register()).cookie);
  t.teardown(() => {
    listener.close();
    outsider.close();
    stranger.close();
  });
  const seen = record(listener, 'user_typing');
  emit(outsider, 'start_typing', g.general.id);
  emit(stranger, 'start_typing', g.general.id);
  emit(outsider, 'start_typing', 'not-an-id');

  await inChannel(outsider, g); // barrier: once in the room, its typing arrives
  const typing = nextEvent(listener, 'user_typing');
  emit(outsider, 'start_typing', g.general.id);
  await typing;
  t.same(seen.map((p) => p.userId), [member.user.id], 'only the typing sent from inside the room');

  const stopBefore = record(listener, 'user_stop_typing');
  await roomAck(outsider, 'leave_channel', g.general.id);
  emit(outsider, 'stop_typing', g.general.id);
  const otherStop = nextEvent(listener, 'user_stop_typing');
  const inside = await inChannel(await second.connect(member.cookie), g);
  t.teardown(() => inside.close());
  emit(inside, 'start_typing', g.general.id);
  emit(inside, 'stop_typing', g.general.id);
  await otherStop;
  t.equal(stopBefore.length, 1, 'a stop after leaving the room is not relayed');
});

t.test('floods are cut: one start per interval, no stop without a start', async (t) => {
  const g = await createGuild(env, 'flood');
  const member = await addMember(env, g);
  const typer = await inChannel(await env.connect(member.cookie), g);
  const listener = await inChannel(await second.connect(g.owner.cookie), g);
  t.teardown(() => {
    typer.close();
    listener.close();
  });
  const starts = record(listener, 'user_typing');
  const stops = record(listener, 'user_stop_typing');
  emit(typer, 'stop_typing', g.general.id); // never started
  for (let i = 0; i < 20; i += 1) emit(typer, 'start_typing', g.general.id);
  const stopped = nextEvent(listener, 'user_stop_typing');
  emit(typer, 'stop_typing', g.general.id);
  await stopped;
  t.equal(starts.length, 1, '20 starts in a burst relay one');
  t.equal(stops.length, 1, 'only the stop after a start is relayed');
});

t.test('a disconnect ends the user\'s typing', async (t) => {
  const g = await createGuild(env, 'gone');
  const member = await addMember(env, g);
  const other = await env.request('POST', `/api/channels/${g.server.id}`, { cookie: g.owner.cookie, json: { name: 'second', type: 'text' } });
  const typer = await inChannel(await inChannel(await second.connect(member.cookie), g), g, other.body.id);
  const listener = await inChannel(await inChannel(await env.connect(g.owner.cookie), g), g, other.body.id);
  t.teardown(() => listener.close());
  const started = nextEvent(listener, 'user_typing', { filter: (p) => p.channelId === other.body.id });
  emit(typer, 'start_typing', g.general.id);
  emit(typer, 'start_typing', other.body.id);
  await started;
  const stops = record(listener, 'user_stop_typing');
  const both = nextEvent(listener, 'user_stop_typing', { filter: () => stops.length === 2 });
  typer.close();
  await both;
  t.same(stops.map((p) => p.channelId).sort(), [g.general.id, other.body.id].sort(), 'user_stop_typing for each channel it was typing in');
});
