// login-storm and reconnect-storm, as the k6 scenarios: open-loop arrivals at RATE per second for
// DURATION seconds over USERS accounts of one server.
// login-storm: login (cookie session) → /api/auth/me → /api/servers → socket → join every server.
// reconnect-storm: socket with an existing session → join_server → join_channel → disconnect.
//   npm run bench -- login-storm --url http://127.0.0.1:3100 --users 100 --rate 20 --duration 10 --pids <pid>
//   npm run bench -- reconnect-storm --url http://127.0.0.1:3100 --users 100 --rate 50 --duration 10 --pids <pid>
import { connectFramed } from './framed.ts';
import { Errors, call, createGuild, latency, login, members, openLoop, options, register, report, round, targetSampler, thresholds, type Options } from './lib.ts';

type Ack = { ok: boolean; error?: string };

async function joinAll(o: Options, cookie: string, joins: [string, string][]): Promise<void> {
  const socket = await connectFramed(o.baseUrl, { cookie });
  try {
    const acks = await Promise.all(joins.map(([event, id]) => new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('ack timeout')), 5000);
      socket.session.emit(event, id, (a: Ack) => {
        clearTimeout(timer);
        resolve(a);
      });
    })));
    const refused = acks.find((a) => !a.ok);
    if (refused) throw new Error(`refused: ${refused.error}`);
  } finally {
    socket.close();
  }
}

async function storm(o: Options, scenario: 'login-storm' | 'reconnect-storm', role: string, once: (i: number) => Promise<void>) {
  const samples: number[] = [];
  const errors = new Errors();
  let ok = 0;
  const sampler = targetSampler(o.pids);
  const loop = await openLoop(o.rate, o.duration, async (n) => {
    const t0 = performance.now();
    try {
      await once(n % o.users);
      samples.push(performance.now() - t0);
      ok++;
    } catch (err) {
      errors.add((err as Error).message.slice(0, 60));
    }
  });
  const usage = sampler.stop();
  const metric = scenario === 'login-storm' ? 'login' : 'reconnect';
  const { sorted, summary } = latency(samples, metric);
  const total = ok + errors.total;
  const verdicts = thresholds(scenario, { [`${metric}_latency`]: { trend: sorted }, checks: { rate: ok / Math.max(1, total) }, http_req_failed: { rate: errors.total / Math.max(1, total) } });
  report(`${scenario} ${o.rate}/s over ${o.users} ${role}s: achieved ${round(ok / loop.elapsed, 1)}/s, p50 ${summary[`${metric}_p50_ms`]} ms, p99 ${summary[`${metric}_p99_ms`]} ms, errors ${errors.total}, target CPU ${usage.target_cpu_percent}%`, {
    scenario, url: o.baseUrl, users: o.users, duration_s: o.duration, offered_per_s: round(loop.offered, 1), achieved_per_s: round(ok / loop.elapsed, 1),
    ...summary, errors_by_status: errors.byStatus, ...usage, thresholds: verdicts,
  });
}

export async function loginStorm(o = options()) {
  const owner = await register(o, 'loginowner', 0);
  const guild = await createGuild(o, owner);
  await members(o, 'login', o.users, guild.code);
  await storm(o, 'login-storm', 'user', async (i) => {
    const { res, user } = await login(o, 'login', i);
    if (!user) throw new Error(String(res.status));
    const me = await call(o, 'GET', '/api/auth/me', { cookie: user.cookie });
    await me.arrayBuffer();
    if (me.status !== 200) throw new Error(String(me.status));
    const list = await call(o, 'GET', '/api/servers', { cookie: user.cookie });
    if (list.status !== 200) throw new Error(String(list.status));
    const servers = (await list.json()) as { id: string }[];
    await joinAll(o, user.cookie, servers.map((s) => ['join_server', s.id]));
  });
}

export async function reconnectStorm(o = options()) {
  const owner = await register(o, 'reconowner', 0);
  const guild = await createGuild(o, owner);
  const users = await members(o, 'recon', o.users, guild.code);
  await storm(o, 'reconnect-storm', 'session', (i) => joinAll(o, users[i].cookie, [['join_server', guild.serverId], ['join_channel', guild.channelId]]));
}
