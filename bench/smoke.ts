// smoke: the k6 smoke scenario in Node: one user walks register → login → server → socket →
// join_server/join_channel → send over REST → message_created → history, each step checked.
//   npm run bench -- smoke --url http://127.0.0.1:3100
import { messageContent } from '../k6/lib/scenarios.ts';
import { connectFramed } from './framed.ts';
import { call, createGuild, login, options, readHistory, register, report, sendMessage, thresholds } from './lib.ts';

export async function smoke(o = options()) {
  const checks: Record<string, boolean> = {};
  const failedStatuses: number[] = [];
  const check = (name: string, ok: boolean) => (checks[name] = ok);
  const started = performance.now();
  await register(o, 'smoke', 1);
  const { res, user } = await login(o, 'smoke', 1);
  check('login 200', res.status === 200);
  if (!user) throw new Error(`login: ${res.status}`);
  check('me 200', (await call(o, 'GET', '/api/auth/me', { cookie: user.cookie })).status === 200);
  const guild = await createGuild(o, user);
  const socket = await connectFramed(o.baseUrl, { cookie: user.cookie });
  const ack = (event: string, id: string) => new Promise<{ ok: boolean }>((resolve) => socket.session.emit(event, id, resolve));
  check('join_server acked ok', (await ack('join_server', guild.serverId)).ok);
  check('join_channel acked ok', (await ack('join_channel', guild.channelId)).ok);
  const content = messageContent(Date.now(), 0, 0);
  const delivered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    socket.session.on('message_created', (m) => {
      if ((m as { content?: unknown }).content === content) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  const sent = await sendMessage(o, user, guild.channelId, content);
  await sent.arrayBuffer();
  check('send 201', sent.status === 201);
  if (sent.status !== 201) failedStatuses.push(sent.status);
  check('message_created delivered', sent.status === 201 && (await delivered));
  const history = await readHistory(o, user, guild.channelId);
  const text = await history.text();
  check('history 200', history.status === 200);
  if (history.status !== 200) failedStatuses.push(history.status);
  check('history holds the message', text.includes(content));
  socket.close();
  const values = Object.values(checks);
  const verdicts = thresholds('smoke', {
    checks: { rate: values.filter(Boolean).length / values.length },
    http_req_failed: { rate: failedStatuses.length / 8 },
  });
  const failed = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name);
  report(`smoke against ${o.baseUrl}: ${failed.length ? `FAILED ${failed.join(', ')}` : 'all checks passed'} in ${Math.round(performance.now() - started)} ms`, {
    scenario: 'smoke', url: o.baseUrl, checks, errors_by_status: failedStatuses, thresholds: verdicts,
  });
}
