// login-storm: RATE users per second run the guide's startup sequence for DURATION seconds: log in
// (cookie session), GET /api/auth/me, GET /api/servers, connect the socket and join every server.
// USERS accounts (registered in setup) are reused round robin.
//   k6 run -e BASE_URL=https://staging.example -e USERS=200 -e RATE=20 -e DURATION=30 k6/login-storm.ts
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Trend } from 'k6/metrics';
import { createGuild, joinGuild, login, register } from './lib/api.ts';
import { connectOnce } from './lib/client.ts';
import { THRESHOLDS, settings } from './lib/scenarios.ts';

const s = settings(__ENV);
const loginLatency = new Trend('login_latency', true);

export const options = {
  setupTimeout: `${60 + Math.ceil(s.users / 10)}s`,
  scenarios: {
    logins: {
      executor: 'constant-arrival-rate', rate: s.rate, timeUnit: '1s', duration: `${s.duration}s`,
      preAllocatedVUs: Math.ceil(s.rate * 2), maxVUs: Math.ceil(s.rate * 10),
    },
  },
  thresholds: THRESHOLDS['login-storm'],
};

export function setup() {
  const owner = register(s, 'loginowner', 0);
  const guild = createGuild(s, owner);
  for (let i = 0; i < s.users; i++) joinGuild(s, register(s, 'login', i), guild.code);
}

export default function () {
  const started = Date.now();
  const user = login(s, 'login', exec.scenario.iterationInTest % s.users);
  const headers = { cookie: user.cookie };
  const me = http.get(`${s.baseUrl}/api/auth/me`, { headers, tags: { name: 'me' } });
  const servers = http.get(`${s.baseUrl}/api/servers`, { headers, tags: { name: 'servers' } });
  check(me, { 'me 200': (r) => r.status === 200 });
  if (!check(servers, { 'servers 200': (r) => r.status === 200 })) return;
  const ids = (servers.json() as { id: string }[]).map((server) => server.id);
  connectOnce(s.baseUrl, user.cookie, 10_000, (session, done) => {
    let pending = ids.length;
    for (const id of ids) {
      session.emit('join_server', id, (ack: { ok: boolean }) => {
        check(ack, { 'join_server ok': (a) => a.ok === true });
        if (--pending > 0) return;
        loginLatency.add(Date.now() - started);
        done();
      });
    }
  });
}
