// REDIS_ADAPTER=sharded end to end: the API's publisher speaks the sharded adapter's format
// (SPUBLISH, one channel per room), two gateways deliver events, forced leaves, logouts and access
// re-checks, and a gateway subscribes to a room's channel only while it has members in that room.
import t from 'tap';
import { rooms } from '@nexusguild/shared/events';
import { addMember, createGuild, roomAck } from '../../../test/guild.ts';
import { disconnected, leavesRoom, nextEvent, setup, startGateway } from '../../../test/harness.ts';

const env = await setup(t, { REDIS_ADAPTER: 'sharded' });
const second = await startGateway(t, env.resources);
const { redis, keys } = env.resources;

/** How many gateways hold a subscription to a room's shard channel. */
async function subscribers(room: string): Promise<number> {
  const [, count] = (await redis.call('PUBSUB', 'SHARDNUMSUB', `${keys.socketio}#/#${room}#`)) as [string, number];
  return count;
}

t.test('events reach sockets on both gateways, and only gateways with members subscribe', async (t) => {
  const guild = await createGuild(env);
  const member = await addMember(env, guild);
  const [a, b] = [await env.connect(member.cookie), await second.connect(member.cookie)];
  const room = rooms.server(guild.server.id);
  t.equal(await subscribers(room), 0, 'nobody in the room: no gateway subscribed');
  t.same(await roomAck(a, 'join_server', guild.server.id), { ok: true });
  t.equal(await subscribers(room), 1, 'the first gateway subscribed when its socket joined');
  t.same(await roomAck(b, 'join_server', guild.server.id), { ok: true });
  t.equal(await subscribers(room), 2);

  const both = [nextEvent(a, 'server_updated'), nextEvent(b, 'server_updated')];
  await env.request('PATCH', `/api/servers/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name: 'Sharded' } });
  t.match(await Promise.all(both), [{ name: 'Sharded' }, { name: 'Sharded' }]);

  t.same(await roomAck(b, 'leave_server', guild.server.id), { ok: true });
  t.equal(await subscribers(room), 1, 'the second gateway unsubscribed when its last member left');
});

t.test('a kick pulls the user out of the rooms on both gateways; an override re-check works', async (t) => {
  const guild = await createGuild(env);
  const member = await addMember(env, guild);
  const [a, b] = [await env.connect(member.cookie), await second.connect(member.cookie)];
  for (const socket of [a, b]) {
    t.same(await roomAck(socket, 'join_server', guild.server.id), { ok: true });
    t.same(await roomAck(socket, 'join_channel', guild.general.id), { ok: true });
  }
  const inChannel = async () => (await env.gateway.io.in(rooms.channel(guild.general.id)).fetchSockets()).length;
  t.equal(await inChannel(), 2);

  // Hide the channel from @everyone: both sockets leave its room, each on its own gateway.
  const channelRoom = rooms.channel(guild.general.id);
  const hidden = [leavesRoom(env.gateway, channelRoom, a.id!), leavesRoom(second.gateway, channelRoom, b.id!)];
  await env.request('PUT', `/api/channels/${guild.general.id}/permissions/${guild.server.id}`, {
    cookie: guild.owner.cookie, json: { target_type: 'role', allow: '0', deny: '1024' },
  });
  await Promise.all(hidden);
  t.equal(await inChannel(), 0, 'no socket may stay in a channel it cannot view');

  const serverRoom = rooms.server(guild.server.id);
  const out = [leavesRoom(env.gateway, serverRoom, a.id!), leavesRoom(second.gateway, serverRoom, b.id!)];
  const kicked = await env.request('DELETE', `/api/servers/${guild.server.id}/members/${member.user.id}`, { cookie: guild.owner.cookie });
  t.equal(kicked.status, 204);
  await Promise.all(out);
  t.equal((await env.gateway.io.in(serverRoom).fetchSockets()).length, 0, 'out of the server room everywhere');
});

t.test('logout disconnects the session on both gateways', async (t) => {
  const user = await env.register();
  const [a, b] = [await env.connect(user.cookie), await second.connect(user.cookie)];
  const gone = [disconnected(a), disconnected(b)];
  t.equal((await env.request('POST', '/api/auth/logout', { cookie: user.cookie })).status, 200);
  t.same(await Promise.all(gone), ['io server disconnect', 'io server disconnect']);
});
