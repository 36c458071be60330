// history-read: READERS concurrent clients read a channel's history (LIMIT per page: the newest
// page, then a page before a random message) for DURATION seconds after SEED messages were written:
// back to back, or READ_RATE pages per second in all (at most READERS in flight).
//   k6 run -e BASE_URL=https://staging.example -e READERS=32 -e LIMIT=50 -e SEED=500 -e DURATION=30 k6/history-read.ts
//   k6 run -e BASE_URL=https://staging.example -e READERS=32 -e READ_RATE=1000 -e DURATION=30 k6/history-read.ts
import { check } from 'k6';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import { createGuild, joinGuild, readHistory, register, sendMessage, type User } from './lib/api.ts';
import { THRESHOLDS, messageContent, settings } from './lib/scenarios.ts';

const s = settings(__ENV);
const historyLatency = new Trend('history_latency', true);

export const options = {
  setupTimeout: `${60 + Math.ceil(s.seed / 20)}s`,
  scenarios: {
    readers: s.readRate > 0
      ? { executor: 'constant-arrival-rate', rate: s.readRate, timeUnit: '1s', duration: `${s.duration}s`, preAllocatedVUs: s.readers, maxVUs: s.readers }
      : { executor: 'constant-vus', vus: s.readers, duration: `${s.duration}s` },
  },
  thresholds: THRESHOLDS['history-read'],
};

interface Data {
  channelId: string;
  readers: User[];
  ids: string[];
}

export function setup(): Data {
  const owner = register(s, 'histowner', 0);
  const guild = createGuild(s, owner);
  const ids: string[] = [];
  for (let i = 0; i < s.seed; i++) {
    const res = sendMessage(s, owner, guild.channelId, messageContent(Date.now(), 0, i));
    if (res.status !== 201) throw new Error(`seeding: ${res.status} ${String(res.body).slice(0, 200)}`);
    ids.push((res.json() as { id: string }).id);
  }
  const readers = Array.from({ length: Math.min(s.readers, 50) }, (_, i) => {
    const user = register(s, 'histread', i);
    joinGuild(s, user, guild.code);
    return user;
  });
  return { channelId: guild.channelId, readers, ids };
}

export default function (data: Data) {
  const reader = data.readers[(exec.vu.idInTest - 1) % data.readers.length];
  const before = exec.vu.iterationInScenario % 2 === 1 && data.ids.length ? data.ids[Math.floor(Math.random() * data.ids.length)] : undefined;
  const res = readHistory(s, reader, data.channelId, before);
  historyLatency.add(res.timings.duration);
  check(res, { 'history 200': (r) => r.status === 200 });
}
