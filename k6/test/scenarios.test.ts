// The scenario definitions both runners share (k6/lib/scenarios.ts): settings from variables,
// the threshold evaluator the Node driver applies to k6 expressions, the latency-carrying content,
// and the multipart body, which the real API must accept as the guide's FormData, delivering the
// content unchanged to a socket in the channel (through the k6 framing, as the driver's receivers do).
import t from 'tap';
import { setup } from '../../test/harness.ts';
import { createGuild } from '../../test/guild.ts';
import { connectFramed } from '../../bench/framed.ts';
import { THRESHOLDS, account, cookiePair, messageContent, multipart, parseContent, passes, percentile, settings } from '../lib/scenarios.ts';

t.test('settings: defaults, overrides, and a bad value names its variable', async (t) => {
  const s = settings({}, 36 ** 3);
  t.equal(s.baseUrl, 'http://127.0.0.1:3000');
  t.equal(s.receivers, 100);
  t.equal(s.limit, 50);
  t.equal(s.runId, '1000');
  const o = settings({ BASE_URL: 'https://x.test/', RATE: '2.5', RUN_ID: 'a-b_c' });
  t.equal(o.baseUrl, 'https://x.test');
  t.equal(o.rate, 2.5);
  t.equal(o.runId, 'abc');
  t.throws(() => settings({ LIMIT: '500' }), /LIMIT must be a number between 1 and 100/);
  t.throws(() => settings({ RECEIVERS: 'many' }), /RECEIVERS/);
  t.ok(account(o, 'role', 123456).username.length <= 32);
});

t.test('thresholds: the k6 expressions evaluate as k6 does', async (t) => {
  const trend = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  t.equal(percentile(trend, 99), 99);
  t.equal(percentile(trend, 50), 50);
  t.ok(Number.isNaN(percentile([], 50)), 'no samples: NaN');
  t.ok(passes('p(99)<100', { trend }));
  t.notOk(passes('p(99)<99', { trend }));
  t.ok(passes('p(99)<=99', { trend }));
  t.ok(passes('max<=100', { trend }));
  t.ok(passes('avg==50.5', { trend }));
  t.ok(passes('count==0', { count: 0 }));
  t.notOk(passes('count==0', { count: 1 }));
  t.ok(passes('rate>0.99', { rate: 1 }));
  t.notOk(passes('p(99)<250', { trend: [] }), 'no samples never pass a latency bound');
  t.throws(() => passes('p99 < 5', { trend }), /unsupported/);
  for (const [metric, expressions] of Object.entries(THRESHOLDS).flatMap(([, m]) => Object.entries(m))) {
    for (const e of expressions) t.doesNotThrow(() => passes(e, { trend, count: 0, rate: 1 }), `${metric}: ${e} parses`);
  }
});

t.test('content carries the send time, sender and sequence; foreign content is ignored', async (t) => {
  t.same(parseContent(messageContent(1700000000123.456, 3, 42)), { sentAt: 1700000000123.456, sender: 3, seq: 42 });
  t.equal(parseContent('hello'), null);
  t.equal(parseContent(undefined), null);
  t.equal(cookiePair(['connect.sid=s%3Aabc.def; Path=/; HttpOnly']), 'connect.sid=s%3Aabc.def');
  t.equal(cookiePair(null), null);
});

t.test('the multipart body is accepted by the real API and delivered to a framed socket', async (t) => {
  const env = await setup(t);
  const guild = await createGuild(env, 'load');
  const socket = await connectFramed(env.url, { cookie: guild.owner.cookie });
  t.teardown(() => socket.close());
  const joined = await new Promise<{ ok: boolean }>((resolve) => socket.session.emit('join_channel', guild.general.id, resolve));
  t.ok(joined.ok, 'joined the channel through the k6 framing');
  const content = messageContent(Date.now(), 1, 7);
  const delivered = new Promise<unknown>((resolve) => socket.session.on('message_created', resolve));
  const { body, contentType } = multipart({ content });
  const res = await env.request('POST', `/api/messages/${guild.general.id}`, { cookie: guild.owner.cookie, payload: body, headers: { 'content-type': contentType } });
  t.equal(res.status, 201, JSON.stringify(res.body));
  t.equal(res.body.content, content);
  const message = (await delivered) as { id: string; content: string };
  t.equal(message.id, res.body.id);
  t.same(parseContent(message.content), { sentAt: parseContent(content)!.sentAt, sender: 1, seq: 7 });
});
