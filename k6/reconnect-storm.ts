// reconnect-storm: RATE socket (re)connections per second for DURATION seconds, as after a gateway
// restart: each opens a websocket with an existing session cookie, joins its server and channel
// and disconnects once both are acknowledged. USERS sessions (made in setup) are reused.
//   k6 run -e BASE_URL=https://staging.example -e USERS=200 -e RATE=50 -e DURATION=30 k6/reconnect-storm.ts
import { check } from 'k6';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import { createGuild, joinGuild, register, type User } from './lib/api.ts';
import { connectOnce } from './lib/client.ts';
import { THRESHOLDS, settings } from './lib/scenarios.ts';

const s = settings(__ENV);
const reconnectLatency = new Trend('reconnect_latency', true);

export const options = {
  setupTimeout: `${60 + Math.ceil(s.users / 10)}s`,
  scenarios: {
    reconnects: {
      executor: 'constant-arrival-rate', rate: s.rate, timeUnit: '1s', duration: `${s.duration}s`,
      preAllocatedVUs: Math.ceil(s.rate), maxVUs: Math.ceil(s.rate * 10),
    },
  },
  thresholds: THRESHOLDS['reconnect-storm'],
};

interface Data {
  serverId: string;
  channelId: string;
  users: User[];
}

export function setup(): Data {
  const owner = register(s, 'reconowner', 0);
  const guild = createGuild(s, owner);
  const users = Array.from({ length: s.users }, (_, i) => {
    const user = register(s, 'recon', i);
    joinGuild(s, user, guild.code);
    return user;
  });
  return { serverId: guild.serverId, channelId: guild.channelId, users };
}

export default function (data: Data) {
  const user = data.users[exec.scenario.iterationInTest % data.users.length];
  const started = Date.now();
  connectOnce(s.baseUrl, user.cookie, 5000, (session, done) => {
    session.emit('join_server', data.serverId, (server: { ok: boolean }) => {
      session.emit('join_channel', data.channelId, (channel: { ok: boolean }) => {
        if (check([server, channel], { 'joins ok': ([a, b]) => a.ok === true && b.ok === true })) reconnectLatency.add(Date.now() - started);
        done();
      });
    });
  });
}
