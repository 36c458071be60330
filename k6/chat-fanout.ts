// chat-fanout: RECEIVERS sockets in one channel; SENDERS post RATE messages per second (open
// loop, constant arrival rate) over REST for DURATION seconds; every receiver records the
// send→deliver latency of every message (the send time travels in the content).
//   k6 run -e BASE_URL=https://staging.example -e RECEIVERS=100 -e SENDERS=4 -e RATE=20 -e DURATION=60 k6/chat-fanout.ts
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import { createGuild, joinGuild, register, sendMessage, type User } from './lib/api.ts';
import { connect, disconnect } from './lib/client.ts';
import { THRESHOLDS, messageContent, parseContent, settings } from './lib/scenarios.ts';

const s = settings(__ENV);
/** Seconds the receivers get to connect and join before the senders start. */
const JOIN_SECONDS = Math.max(5, Math.ceil(s.receivers / 50));
/** Seconds the receivers keep listening after the last send. */
const GRACE_SECONDS = 5;

const deliveryLatency = new Trend('delivery_latency', true);
const deliveries = new Counter('deliveries');
const lost = new Counter('deliveries_lost');
const duplicated = new Counter('deliveries_duplicated');

export const options = {
  setupTimeout: `${60 + s.receivers}s`,
  scenarios: {
    receivers: {
      executor: 'per-vu-iterations', exec: 'receive', vus: s.receivers, iterations: 1,
      maxDuration: `${JOIN_SECONDS + s.duration + GRACE_SECONDS + 30}s`,
    },
    senders: {
      executor: 'constant-arrival-rate', exec: 'send', startTime: `${JOIN_SECONDS}s`,
      rate: s.rate, timeUnit: '1s', duration: `${s.duration}s`, preAllocatedVUs: s.senders, maxVUs: s.senders,
    },
  },
  thresholds: { ...THRESHOLDS['chat-fanout'], dropped_iterations: ['count==0'] },
};

interface Data {
  channelId: string;
  receivers: User[];
  senders: User[];
}

export function setup(): Data {
  const owner = register(s, 'fanowner', 0);
  const guild = createGuild(s, owner);
  const join = (role: string, n: number) => Array.from({ length: n }, (_, i) => {
    const user = register(s, role, i);
    joinGuild(s, user, guild.code);
    return user;
  });
  return { channelId: guild.channelId, receivers: join('fanrecv', s.receivers), senders: join('fansend', s.senders) };
}

export function receive(data: Data) {
  // One iteration per receiver VU: the scenario's iteration number is its index (VU ids are
  // shared with the senders' VUs and need not start at 1 here).
  const me = data.receivers[exec.scenario.iterationInTest];
  const seen = new Set<string>();
  const conn = connect(s.baseUrl, me.cookie, {
    onConnect(session) {
      session.on('message_created', (message) => {
        const content = parseContent((message as { content?: unknown }).content);
        if (!content) return;
        const key = `${content.sender}:${content.seq}`;
        if (seen.has(key)) return duplicated.add(1);
        seen.add(key);
        deliveries.add(1);
        deliveryLatency.add(Date.now() - content.sentAt);
      });
      session.emit('join_channel', data.channelId, (ack: { ok: boolean }) => check(ack, { 'join_channel ok': (a) => a.ok === true }));
    },
    onError: (message) => check(message, { 'socket without error': () => false }),
  });
  setTimeout(() => {
    // Every arrival of the constant rate is one expected message (dropped ones and failed sends
    // count as lost: the users would not have seen them either).
    lost.add(Math.max(0, Math.round(s.rate * s.duration) - seen.size));
    disconnect(conn);
  }, (JOIN_SECONDS + s.duration + GRACE_SECONDS) * 1000 - exec.instance.currentTestRunDuration);
}

export function send(data: Data) {
  const sender = data.senders[(exec.vu.idInTest - 1) % data.senders.length];
  const res = sendMessage(s, sender, data.channelId, messageContent(Date.now(), exec.vu.idInTest, exec.vu.iterationInScenario));
  check(res, { 'send 201': (r) => r.status === 201 });
}
