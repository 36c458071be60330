// Fan-out bench for the publish path: Redis emitter → gateway adapter → sockets.
// Against a running instance (start it with RATE_LIMIT_ENABLED=false so users can register):
//   npm run bench -- publish --url http://127.0.0.1:3000 --sockets 100 --rate 200 --seconds 10
// (with REDIS_ADAPTER=sharded when the instance runs the sharded adapter)
// It registers --sockets users, connects one websocket each, then publishes --rate events per
// second (open loop) through the same Redis the instance uses (REDIS_URL, REDIS_PREFIX), each to all
// of those users' rooms, and measures publish→deliver latency on every socket.
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { createPublisher } from '@nexusguild/shared/publisher';
import { createRedis, redisKeys } from '@nexusguild/shared/redis';
import { rooms } from '@nexusguild/shared/events';

const { values } = parseArgs({
  args: process.argv.slice(3),
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    sockets: { type: 'string', default: '100' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
  },
});
const url = values.url!;
const socketCount = Number(values.sockets);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

async function registerUser(i: number): Promise<{ id: string; cookie: string }> {
  const name = `bench${Date.now().toString(36)}${i}`;
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, email: `${name}@bench.invalid`, password: 'bench-password' }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: string }).id, cookie: res.headers.get('set-cookie')!.split(';')[0] };
}

function connect(cookie: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie } });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

const users: { id: string; cookie: string }[] = [];
for (let i = 0; i < socketCount; i += 20) {
  users.push(...(await Promise.all(Array.from({ length: Math.min(20, socketCount - i) }, (_, j) => registerUser(i + j)))));
}
const sockets = await Promise.all(users.map((u) => connect(u.cookie)));

const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const publisher = createPublisher(redis, redisKeys(process.env.REDIS_PREFIX ?? 'ng:'), process.env.REDIS_ADAPTER === 'sharded' ? 'sharded' : 'classic');
const targets = users.map((u) => rooms.user(u.id));

const latencies: number[] = [];
const seen = new Map<string, number>();
for (const s of sockets) {
  s.on('channel_read', ({ channelId }: { channelId: string }) => {
    const [sentAt] = channelId.split(':');
    latencies.push(performance.now() + performance.timeOrigin - Number(sentAt));
    seen.set(channelId, (seen.get(channelId) ?? 0) + 1);
  });
}

const total = rate * seconds;
const started = performance.now();
for (let n = 0; n < total; n++) {
  const due = started + (n * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // channel_read is a small personal-room event; its id field carries the send time.
  publisher.emit(targets, 'channel_read', { channelId: `${performance.now() + performance.timeOrigin}:${n}` });
}
const expected = total * socketCount;
const deadline = performance.now() + 5000;
while (latencies.length < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));

latencies.sort((a, b) => a - b);
const pct = (p: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN).toFixed(2));
const duplicated = [...seen.values()].reduce((acc, c) => acc + Math.max(0, c - socketCount), 0);
const result = {
  scenario: 'publish',
  sockets: socketCount,
  offered_events_per_s: rate,
  deliveries_per_s: Math.round(latencies.length / seconds),
  expected,
  delivered: latencies.length,
  lost: expected - latencies.length,
  duplicated,
  p50_ms: pct(50),
  p95_ms: pct(95),
  p99_ms: pct(99),
  max_ms: Number((latencies.at(-1) ?? NaN).toFixed(2)),
};
console.log(`publish→deliver to ${socketCount} sockets at ${rate}/s for ${seconds}s: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, lost ${result.lost}`);
console.log(JSON.stringify(result));
for (const s of sockets) s.close();
await redis.quit();
