// history-read: SEED messages in one channel, then READERS concurrent clients read LIMIT-message
// pages for DURATION seconds, alternating the newest page and a page before a random message, as
// the k6 scenario does: back to back (closed loop), or --read-rate pages per second in all, each
// reader taking the next scheduled start when it is free (at most READERS in flight).
//   npm run bench -- history-read --url http://127.0.0.1:3100 --readers 32 --limit 50 --seed 500 --duration 10 --pids <pid>
//   npm run bench -- history-read --url http://127.0.0.1:3100 --readers 32 --read-rate 1000 --duration 10 --pids <pid>
import { messageContent } from '../k6/lib/scenarios.ts';
import { Errors, createGuild, latency, members, options, readHistory, register, report, round, sendMessage, targetSampler, thresholds } from './lib.ts';

export async function historyRead(o = options()) {
  const owner = await register(o, 'histowner', 0);
  const guild = await createGuild(o, owner);
  const ids: string[] = [];
  for (let i = 0; i < o.seed; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, o.seed - i) }, async (_, j) => {
      const res = await sendMessage(o, owner, guild.channelId, messageContent(Date.now(), 0, i + j));
      if (res.status !== 201) throw new Error(`seeding: ${res.status} ${(await res.text()).slice(0, 200)}`);
      return ((await res.json()) as { id: string }).id;
    }));
    ids.push(...batch);
  }
  const readers = await members(o, 'histread', Math.min(o.readers, 50), guild.code);
  const samples: number[] = [];
  const errors = new Errors();
  const sampler = targetSampler(o.pids);
  const started = performance.now();
  const end = started + o.duration * 1000;
  let scheduled = 0; // paced: the next start, in ms after `started`
  const nextStart = async () => {
    if (o.readRate <= 0) return;
    const at = started + (scheduled++ * 1000) / o.readRate;
    if (at > performance.now()) await new Promise((r) => setTimeout(r, at - performance.now()));
  };
  await Promise.all(Array.from({ length: o.readers }, async (_, r) => {
    for (let n = 0; performance.now() < end; n++) {
      await nextStart();
      if (performance.now() >= end) break;
      const before = n % 2 === 1 ? ids[Math.floor(Math.random() * ids.length)] : undefined;
      const t0 = performance.now();
      const res = await readHistory(o, readers[r % readers.length], guild.channelId, before);
      const body = await res.arrayBuffer();
      samples.push(performance.now() - t0);
      if (res.status !== 200 || body.byteLength === 0) errors.add(res.status);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const usage = sampler.stop();
  const { sorted, summary } = latency(samples, 'history');
  const verdicts = thresholds('history-read', { history_latency: { trend: sorted }, http_req_failed: { rate: errors.total / Math.max(1, samples.length) } });
  const pacing = o.readRate > 0 ? `at ${o.readRate}/s` : 'back to back';
  report(`history-read ${o.readers} readers ${pacing}, limit ${o.limit}: ${round(samples.length / elapsed, 0)} req/s, p50 ${summary.history_p50_ms} ms, p99 ${summary.history_p99_ms} ms, errors ${errors.total}, target CPU ${usage.target_cpu_percent}%`, {
    scenario: 'history-read', url: o.baseUrl, readers: o.readers, offered_req_per_s: o.readRate || null, limit: o.limit, seeded: ids.length, duration_s: o.duration,
    achieved_req_per_s: round(samples.length / elapsed, 1), ...summary, errors_by_status: errors.byStatus, ...usage, thresholds: verdicts,
  });
}
