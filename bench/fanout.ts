// chat-fanout and ceiling: RECEIVERS sockets (the k6 framing over ws) joined to one channel,
// SENDERS posting over REST at an open-loop rate, send→deliver latency on every receiver. With
// --rates a,b,c the same receivers go through each rate in turn; the sustainable rate is the
// highest step that meets the chat-fanout thresholds (p99 < 250 ms, nothing lost or duplicated,
// no failed send) and delivers what was offered.
//   npm run bench -- chat-fanout --url http://127.0.0.1:3100 --receivers 100 --senders 4 --rates 25,50,100 --duration 10 --pids <pid>
//   npm run bench -- ceiling --receivers 100 --senders 4 --rates 100,200,400 --duration 10
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { messageContent, parseContent } from '../k6/lib/scenarios.ts';
import { connectFramed, type FramedSocket } from './framed.ts';
import { Errors, createGuild, latency, members, openLoop, options, register, report, round, sendMessage, targetSampler, thresholds, type Options, type User } from './lib.ts';

const now = () => performance.timeOrigin + performance.now();

interface Target {
  channelId: string;
  receivers: (string | undefined)[];
  senders: User[];
}

async function joinReceivers(o: Options, target: Target): Promise<FramedSocket[]> {
  const sockets: FramedSocket[] = [];
  for (let i = 0; i < target.receivers.length; i += 50) {
    sockets.push(...(await Promise.all(target.receivers.slice(i, i + 50).map(async (cookie) => {
      const socket = await connectFramed(o.baseUrl, { cookie });
      const ack = await new Promise<{ ok: boolean; error?: string }>((resolve) => socket.session.emit('join_channel', target.channelId, resolve));
      if (!ack.ok) throw new Error(`join_channel refused: ${ack.error}`);
      return socket;
    }))));
  }
  return sockets;
}

async function step(o: Options, scenario: 'chat-fanout' | 'ceiling', target: Target, sockets: FramedSocket[], rate: number, stepNo: number) {
  const latencies: number[] = [];
  /** Per message (sender:seq), how many receivers got it. */
  const received = new Map<string, number>();
  let duplicated = 0;
  let lastDelivery = 0;
  const listeners = sockets.map((socket) => {
    const seen = new Set<string>();
    const listener = (message: unknown) => {
      const c = parseContent((message as { content?: unknown }).content);
      if (!c || c.sender !== stepNo) return;
      const key = String(c.seq);
      if (seen.has(key)) return void duplicated++;
      seen.add(key);
      lastDelivery = now();
      latencies.push(lastDelivery - c.sentAt);
      received.set(key, (received.get(key) ?? 0) + 1);
    };
    socket.session.on('message_created', listener);
    return listener;
  });

  const errors = new Errors();
  const sent = new Set<string>();
  let lastResponse = 0;
  const sampler = targetSampler(o.pids);
  const loop = await openLoop(rate, o.duration, async (n) => {
    const sender = target.senders[n % target.senders.length];
    try {
      const res = await sendMessage(o, sender, target.channelId, messageContent(now(), stepNo, n));
      await res.arrayBuffer();
      if (res.status === 201) sent.add(String(n));
      else errors.add(res.status);
    } catch (err) {
      errors.add((err as Error).name);
    }
    lastResponse = now();
  });
  const expected = sent.size * sockets.length;
  const deadline = performance.now() + 5000;
  while (latencies.length < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const usage = sampler.stop();
  sockets.forEach((s, r) => s.session.off('message_created', listeners[r]));

  let lost = 0;
  for (const key of sent) lost += sockets.length - Math.min(sockets.length, received.get(key) ?? 0);
  const started = performance.timeOrigin + loop.started;
  const { sorted, summary } = latency(latencies, 'delivery');
  const verdicts = thresholds('chat-fanout', {
    delivery_latency: { trend: sorted },
    deliveries_lost: { count: lost },
    deliveries_duplicated: { count: duplicated },
    http_req_failed: { rate: errors.total / Math.max(1, Math.round(rate * o.duration)) },
  });
  const achieved = sent.size / Math.max(0.001, (lastResponse - started) / 1000);
  const result = {
    scenario, url: o.baseUrl, receivers: sockets.length, senders: target.senders.length, duration_s: o.duration,
    offered_msgs_per_s: round(loop.offered, 1),
    achieved_msgs_per_s: round(achieved, 1),
    deliveries_per_s: round(latencies.length / Math.max(0.001, (lastDelivery - started) / 1000), 0),
    sent_ok: sent.size, expected_deliveries: expected, delivered: latencies.length, lost, duplicated,
    ...summary,
    errors_by_status: errors.byStatus,
    ...usage,
    thresholds: verdicts,
    sustained: Object.values(verdicts).every(Boolean) && errors.total === 0 && achieved >= 0.95 * rate,
  };
  report(`${scenario} ${rate}/s → ${sockets.length} receivers: achieved ${result.achieved_msgs_per_s}/s, p50 ${summary.delivery_p50_ms} ms, p99 ${summary.delivery_p99_ms} ms, max ${summary.delivery_max_ms} ms, lost ${lost}, dup ${duplicated}, errors ${errors.total}, target CPU ${usage.target_cpu_percent}% → ${result.sustained ? 'sustained' : 'NOT sustained'}`, result);
  return result;
}

async function run(o: Options, scenario: 'chat-fanout' | 'ceiling', target: Target) {
  const sockets = await joinReceivers(o, target);
  // Warm-up, not measured: each sender's keep-alive connection and both sides' first-call paths.
  for (let i = 0; i < 3; i++) {
    await Promise.all(target.senders.map(async (sender, n) => (await sendMessage(o, sender, target.channelId, messageContent(now(), 0, n))).arrayBuffer()));
  }
  const rates = o.rates.length ? o.rates : [o.rate];
  const steps = [];
  for (const [i, rate] of rates.entries()) {
    steps.push(await step(o, scenario, target, sockets, rate, i + 1));
    await new Promise((r) => setTimeout(r, 1000)); // let the target settle between steps
  }
  for (const s of sockets) s.close();
  const sustained = steps.filter((s) => s.sustained).map((s) => s.offered_msgs_per_s ?? 0);
  report(`${scenario}: highest sustained rate ${sustained.length ? Math.max(...sustained) : 'none'} msg/s to ${target.receivers.length} receivers`, {
    scenario: `${scenario}-summary`, receivers: target.receivers.length, rates, sustainable_msgs_per_s: sustained.length ? Math.max(...sustained) : 0,
  });
}

/** chat-fanout against the running instance at --url. */
export async function chatFanout(o = options()) {
  const owner = await register(o, 'fanowner', 0);
  const guild = await createGuild(o, owner);
  const receivers = await members(o, 'fanrecv', o.receivers, guild.code);
  const senders = await members(o, 'fansend', o.senders, guild.code);
  await run(o, 'chat-fanout', { channelId: guild.channelId, receivers: receivers.map((u) => u.cookie), senders });
}

/** The same fan-out against the bare socket.io server (bench/ceiling-server.ts), started here. */
export async function ceiling(o = options()) {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./ceiling-server.ts', import.meta.url)), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^ready (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`ceiling server exited with ${code}`)));
  });
  try {
    const bare: Options = { ...o, baseUrl: `http://127.0.0.1:${port}`, pids: [child.pid!] };
    const senders = Array.from({ length: o.senders }, (_, i) => ({ id: String(i), cookie: '' }));
    await run(bare, 'ceiling', { channelId: '1', receivers: Array.from({ length: o.receivers }, () => undefined), senders });
  } finally {
    child.kill('SIGTERM');
  }
}
