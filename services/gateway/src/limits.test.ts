// The per-socket event limit: a burst beyond it is refused (acks say so), the socket stays
// connected, and other sockets, even the same user's, are unaffected.
import t from 'tap';
import { createGuild, roomAck } from '../../../test/guild.ts';
import { setup } from '../../../test/harness.ts';
import { EVENT_LIMIT } from './limits.ts';

const env = await setup(t);

t.test('a flood is refused past the burst; the socket and its neighbours carry on', async (t) => {
  const guild = await createGuild(env);
  const flooder = await env.connect(guild.owner.cookie);
  const extra = 20;
  // Sent in one go: at EVENT_LIMIT.perSecond the bucket refills by well under `extra` meanwhile.
  const acks = await Promise.all(Array.from({ length: EVENT_LIMIT.burst + extra }, () => roomAck(flooder, 'leave_server', '1')));
  const refused = acks.filter((a) => !a.ok);
  t.ok(refused.length > 0 && refused.length <= extra, `${refused.length} of the last ${extra} refused`);
  t.same(refused[0], { ok: false, error: 'Too many requests' });
  t.ok(acks.slice(0, EVENT_LIMIT.burst).every((a) => a.ok), 'the whole burst went through');
  t.ok(flooder.connected, 'the flooder is not disconnected');

  const neighbour = await env.connect(guild.owner.cookie);
  t.same(await roomAck(neighbour, 'join_server', guild.server.id), { ok: true }, 'another socket is unaffected');

  // The same middleware feeds the metrics; a client's made-up event names share one label.
  (neighbour as unknown as { emit(e: string): void }).emit('no_such_event');
  t.same(await roomAck(neighbour, 'leave_server', '1'), { ok: true }); // sent after it, handled after it
  const metrics = await env.request('GET', '/metrics');
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(metrics.body)?.[1]);
  t.ok(value('gateway_events_received_total{event="leave_server"}') >= EVENT_LIMIT.burst + extra, 'received events by name');
  t.ok(value('gateway_events_received_total{event="other"}') >= 1, 'unknown names as "other"');
  t.ok(value('gateway_events_dropped_total') >= refused.length, 'drops');
  t.notMatch(metrics.body, /no_such_event/);
  t.ok(value('gateway_connected_sockets') >= 2, 'connected sockets');
});
