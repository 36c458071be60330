// DM rooms and DM typing across two gateways with real socket clients: join_dm admits
// participants only (checked against Postgres), dm_typing / dm_stop_typing reach the other
// participants in the room but never the sender or anyone outside it, and a disconnect ends typing.
import t from 'tap';
import { nextEvent, record, setup, startGateway, type TestSocket } from '../../../test/harness.ts';
import { createGuild } from '../../../test/guild.ts';

const env = await setup(t);
const second = await startGateway(t, env.resources);

type Ack = { ok: true } | { ok: false; error: string };
const ack = (socket: TestSocket, event: 'join_dm' | 'leave_dm', arg: unknown) =>
  new Promise<Ack>((resolve) => (socket as unknown as { emit(e: string, a: unknown, cb: (r: Ack) => void): void }).emit(event, arg, resolve));
const emit = (socket: TestSocket, event: string, arg: unknown) => (socket as unknown as { emit(e: string, a: unknown): void }).emit(event, arg);

async function conversation() {
  const [a, b, c] = [await env.register('a'), await env.register('b'), await env.register('c')];
  const opened = await env.request('POST', '/api/dm', { cookie: a.cookie, json: { recipientId: b.user.id } });
  if (opened.status !== 201) throw new Error(`open failed: ${opened.status}`);
  return { a, b, c, dmId: opened.body.id as string };
}

t.test('join_dm: participants only; unknown, foreign and malformed ids refused', async (t) => {
  const { a, c, dmId } = await conversation();
  const guild = await createGuild(env);
  const [sa, sc] = [await env.connect(a.cookie), await second.connect(c.cookie)];
  t.teardown(() => {
    sa.close();
    sc.close();
  });
  t.same(await ack(sc, 'join_dm', dmId), { ok: false, error: 'Access denied' }, 'a third party');
  t.same(await ack(sa, 'join_dm', '424242'), { ok: false, error: 'Access denied' }, 'no such conversation');
  t.same(await ack(sa, 'join_dm', guild.general.id), { ok: false, error: 'Access denied' }, 'a server channel is no DM');
  t.same(await ack(sa, 'join_dm', 'nope'), { ok: false, error: 'Invalid id' });
  t.same(await ack(sa, 'join_dm', '99999999999999999999'), { ok: false, error: 'Access denied' }, 'beyond BIGINT');
  t.same(await ack(sa, 'join_dm', { dmId }), { ok: true }, 'a participant, object argument');
  t.ok(env.gateway.io.of('/').adapter.rooms.get(`dm:${dmId}`)?.has(sa.id ?? ''), 'in the room');
  t.notOk(second.gateway.io.of('/').adapter.rooms.get(`dm:${dmId}`)?.has(sc.id ?? ''), 'the third party is not');
  t.same(await ack(sa, 'leave_dm', dmId), { ok: true });
  t.notOk(env.gateway.io.of('/').adapter.rooms.get(`dm:${dmId}`)?.has(sa.id ?? ''), 'left');
});

t.test('dm typing reaches the other participant, never the sender or a third party', async (t) => {
  const { a, b, c, dmId } = await conversation();
  const [sa, sb, sc] = [await env.connect(a.cookie), await second.connect(b.cookie), await second.connect(c.cookie)];
  t.teardown(() => {
    sa.close();
    sb.close();
    sc.close();
  });
  t.same(await ack(sa, 'join_dm', dmId), { ok: true });
  t.same(await ack(sb, 'join_dm', dmId), { ok: true });
  await ack(sc, 'join_dm', dmId); // refused
  const aSaw = record(sa, 'dm_typing');
  const cSaw = [record(sc, 'dm_typing'), record(sc, 'dm_stop_typing')];

  const typing = nextEvent(sb, 'dm_typing');
  emit(sa, 'dm_typing', dmId);
  t.same(await typing, { dmId, userId: a.user.id, username: a.user.username }, 'across gateways');
  const stopped = nextEvent(sb, 'dm_stop_typing');
  emit(sa, 'dm_stop_typing', { dmId });
  t.same(await stopped, { dmId, userId: a.user.id });

  emit(sc, 'dm_typing', dmId); // not in the room: relays nothing
  // Barrier: b's typing reaches a after anything a or c's typing could have caused.
  const fromB = nextEvent(sa, 'dm_typing');
  emit(sb, 'dm_typing', { id: dmId });
  await fromB;
  await env.flush(sc, c.user.id);
  t.same(aSaw.map((p) => p.userId), [b.user.id], 'the sender never gets its own, the outsider\'s never arrives');
  t.same(cSaw, [[], []], 'the third party receives nothing');

  // b's typing ends when b disconnects.
  const ended = nextEvent(sa, 'dm_stop_typing');
  sb.close();
  t.same(await ended, { dmId, userId: b.user.id });
});
