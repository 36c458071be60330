// smoke: one user walks the whole path once: register, login (cookie session), create a server,
// connect the socket, join the server and its general channel, send a message over REST, receive
// it as `message_created`, read it back from history, disconnect. Every check must pass.
//   k6 run -e BASE_URL=https://staging.example k6/smoke.ts
import { check } from 'k6';
import { setTimeout, clearTimeout } from 'k6/timers';
import { createGuild, login, readHistory, register, sendMessage } from './lib/api.ts';
import { connect, disconnect } from './lib/client.ts';
import { THRESHOLDS, messageContent, parseContent, settings } from './lib/scenarios.ts';

const s = settings(__ENV);
export const options = { vus: 1, iterations: 1, thresholds: THRESHOLDS.smoke };

export default function () {
  register(s, 'smoke', __VU);
  const user = login(s, 'smoke', __VU);
  const guild = createGuild(s, user);
  const conn = connect(s.baseUrl, user.cookie, {
    onConnect(session) {
      session.emit('join_server', guild.serverId, (joinedServer: { ok: boolean }) => {
        check(joinedServer, { 'join_server acked ok': (r) => r.ok === true });
        session.emit('join_channel', guild.channelId, (joined: { ok: boolean }) => {
          check(joined, { 'join_channel acked ok': (r) => r.ok === true });
          const content = messageContent(Date.now(), __VU, 0);
          session.on('message_created', (message) => {
            if ((message as { content?: unknown }).content !== content) return;
            clearTimeout(timer);
            check(parseContent(content), { 'message_created delivered': (p) => p !== null });
            const history = readHistory(s, user, guild.channelId);
            check(history, {
              'history 200': (r) => r.status === 200,
              'history holds the message': (r) => JSON.stringify(r.json()).includes(content),
            });
            disconnect(conn);
          });
          const sent = sendMessage(s, user, guild.channelId, content);
          check(sent, { 'send 201': (r) => r.status === 201 });
        });
      });
    },
    onError(message) {
      check(message, { 'socket error': () => false });
      disconnect(conn);
    },
  });
  const timer = setTimeout(() => {
    check(null, { 'message_created within 5 s': () => false });
    disconnect(conn);
  }, 5000);
}
