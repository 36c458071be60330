// Voice routes against a real API, Postgres, Redis and gateway: LiveKit tokens checked with the
// SDK's TokenVerifier (identity, name, room, grants, 4 h TTL; SPEAK and CONNECT at channel level),
// the DM-call token, 503 without LiveKit, and the webhook: a body signed as LiveKit signs it
// reconciles the voice state (and is announced), a forged or tampered one is a 401.
import t from 'tap';
import { createHash } from 'node:crypto';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, listenToServer, type GuildFixture } from '../../../../../test/guild.ts';
import { assertError, nextEvent, setup, type TestSocket } from '../../../../../test/harness.ts';

const KEY = 'test-api-key';
const SECRET = 'test-api-secret-test-api-secret-0123';
const URL = 'wss://livekit.test';
const env = await setup(t, { LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET, LIVEKIT_URL: URL });
const verifier = new TokenVerifier(KEY, SECRET);

async function voiceChannelOf(g: GuildFixture): Promise<string> {
  const channels = await env.request('GET', `/api/channels/${g.server.id}`, { cookie: g.owner.cookie });
  return channels.body.find((c: { type: string }) => c.type === 'voice').id;
}

async function override(g: GuildFixture, channelId: string, userId: string, deny: bigint) {
  const res = await env.request('PUT', `/api/channels/${channelId}/permissions/${userId}`, {
    cookie: g.owner.cookie, json: { target_type: 'member', allow: '0', deny: deny.toString() },
  });
  if (res.status !== 200) throw new Error(`override failed: ${res.status} ${JSON.stringify(res.body)}`);
}

function voiceAck(socket: TestSocket, event: string, arg: unknown): Promise<{ ok: boolean; error?: string }> {
  const untyped = socket as unknown as { emit(e: string, a: unknown, cb: (r: { ok: boolean; error?: string }) => void): void };
  return new Promise((resolve) => untyped.emit(event, arg, resolve));
}

/** Headers LiveKit sends: its content type and a token over the body's sha256, signed with `secret`. */
async function signed(body: string, secret = SECRET) {
  const token = new AccessToken(KEY, secret);
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return { 'content-type': 'application/webhook+json', authorization: await token.toJwt() };
}

t.test('every route needs a session (but the webhook, which is signed instead)', async (t) => {
  assertError(t, await env.request('GET', '/api/voice/token/1'), 401);
  assertError(t, await env.request('GET', '/api/voice/dm-token/1'), 401);
  assertError(t, await env.request('GET', '/api/voice/token/abc', { cookie: (await env.register()).cookie }), 400);
  assertError(t, await env.request('GET', '/api/voice/dm-token/1.5', { cookie: (await env.register()).cookie }), 400);
});

t.test('channel token: identity, name, room, grants and a 4 h life', async (t) => {
  const g = await createGuild(env, 'lk');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const res = await env.request('GET', `/api/voice/token/${voiceId}`, { cookie: member.cookie });
  t.equal(res.status, 200);
  t.same(Object.keys(res.body).sort(), ['channelId', 'token', 'url']);
  t.equal(res.body.url, URL);
  t.equal(res.body.channelId, voiceId);
  const claims = await verifier.verify(res.body.token);
  t.equal(claims.sub, member.user.id, 'identity is the user id');
  t.equal(claims.name, member.user.username, 'name is the username without a nickname');
  t.match(claims.video, { roomJoin: true, room: voiceId, canPublish: true, canSubscribe: true, canPublishData: false });
  const life = Number(claims.exp) - Number(claims.nbf);
  t.ok(Math.abs(life - 4 * 3600) <= 5, `TTL ≈ 4 h (${life} s)`);

  const nick = await env.request('PATCH', `/api/users/me/nickname/${g.server.id}`, { cookie: member.cookie, json: { nickname: 'Speaker' } });
  t.equal(nick.status, 200);
  const again = await env.request('GET', `/api/voice/token/${voiceId}`, { cookie: member.cookie });
  t.equal((await verifier.verify(again.body.token)).name, 'Speaker', 'name is the server nickname when set');
});

t.test('channel token refusals, and SPEAK / CONNECT at channel level', async (t) => {
  const g = await createGuild(env, 'lkdeny');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const stranger = await env.register();

  assertError(t, await env.request('GET', `/api/voice/token/${voiceId}`, { cookie: stranger.cookie }), 403, 'You are not a member of this server');
  assertError(t, await env.request('GET', '/api/voice/token/123456789', { cookie: member.cookie }), 404, 'Channel not found');
  assertError(t, await env.request('GET', `/api/voice/token/${g.general.id}`, { cookie: member.cookie }), 400, 'Not a voice channel');

  await override(g, voiceId, member.user.id, Flags.SPEAK);
  const muted = await env.request('GET', `/api/voice/token/${voiceId}`, { cookie: member.cookie });
  t.equal(muted.status, 200, 'SPEAK denied: still a token');
  t.equal((await verifier.verify(muted.body.token)).video?.canPublish, false, 'SPEAK denied by an override: canPublish false');

  const owner = await env.request('GET', `/api/voice/token/${voiceId}`, { cookie: g.owner.cookie });
  t.equal((await verifier.verify(owner.body.token)).video?.canPublish, true, 'the owner always publishes');

  await override(g, voiceId, member.user.id, Flags.CONNECT);
  assertError(t, await env.request('GET', `/api/voice/token/${voiceId}`, { cookie: member.cookie }), 403, /CONNECT/);
});

t.test('DM-call token: participants only', async (t) => {
  const [a, b, c] = [await env.register(), await env.register(), await env.register()];
  const sql = env.resources.sql;
  const dmId = env.resources.ids.next();
  await sql`INSERT INTO channels (id, type, dm_key) VALUES (${dmId}, 'dm', ${`${a.user.id}:${b.user.id}`})`;
  await sql`INSERT INTO channel_members (channel_id, user_id) VALUES (${dmId}, ${a.user.id}), (${dmId}, ${b.user.id})`;

  const res = await env.request('GET', `/api/voice/dm-token/${dmId}`, { cookie: a.cookie });
  t.equal(res.status, 200);
  t.same(Object.keys(res.body).sort(), ['dmId', 'token', 'url']);
  t.equal(res.body.dmId, dmId);
  const claims = await verifier.verify(res.body.token);
  t.equal(claims.sub, a.user.id);
  t.equal(claims.name, a.user.username);
  t.match(claims.video, { roomJoin: true, room: `dm_${dmId}`, canPublish: true, canSubscribe: true, canPublishData: false });

  assertError(t, await env.request('GET', `/api/voice/dm-token/${dmId}`, { cookie: c.cookie }), 403, 'You are not in this conversation');
  assertError(t, await env.request('GET', '/api/voice/dm-token/123456789', { cookie: a.cookie }), 404);
  const g = await createGuild(env, 'notdm');
  assertError(t, await env.request('GET', `/api/voice/dm-token/${g.general.id}`, { cookie: g.owner.cookie }), 404, undefined, 'a server channel is no DM');
});

t.test('webhook: signed events reconcile voice state; forged ones are refused', async (t) => {
  const g = await createGuild(env, 'hook');
  const voiceId = await voiceChannelOf(g);
  const member = await addMember(env, g);
  const observer = await listenToServer(env, t, g.owner.cookie, g.server.id);
  const socket = await env.connect(member.cookie);
  t.teardown(() => socket.close());
  const joined = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && p.joined });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  await joined;

  const body = JSON.stringify({ event: 'participant_left', id: 'EV_1', room: { name: voiceId }, participant: { identity: member.user.id } });
  const post = (headers: Record<string, string>, payload = body) => env.request('POST', '/api/voice/webhook', { headers, payload });

  assertError(t, await post(await signed(body, 'another-secret-another-secret-012345')), 401, 'Invalid webhook signature', 'wrong secret');
  assertError(t, await post(await signed(body), body.replace('EV_1', 'EV_2')), 401, undefined, 'tampered body');
  assertError(t, await post({ 'content-type': 'application/webhook+json' }), 401, undefined, 'no signature');
  const stillIn = nextEvent(socket, 'voice_states');
  await voiceAck(socket, 'join_server', g.server.id);
  t.equal((await stillIn).states.length, 1, 'refused webhooks changed nothing');

  const left = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && !p.joined });
  const res = await post(await signed(body));
  t.equal(res.status, 200);
  t.same(res.body, { ok: true });
  t.match(await left, { userId: member.user.id, channelId: voiceId, joined: false }, 'participant_left ends the state, announced');

  // room_finished clears whoever is still listed in that room.
  const joinedAgain = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && p.joined });
  t.same(await voiceAck(socket, 'join_voice', { channelId: voiceId, serverId: g.server.id }), { ok: true });
  await joinedAgain;
  const finished = JSON.stringify({ event: 'room_finished', id: 'EV_3', room: { name: voiceId } });
  const cleared = nextEvent(observer, 'voice_state_update', { filter: (p) => p.userId === member.user.id && !p.joined });
  t.equal((await post(await signed(finished), finished)).status, 200);
  await cleared;
  const snapshot = nextEvent(observer, 'voice_states');
  await voiceAck(observer, 'leave_server', g.server.id);
  await voiceAck(observer, 'join_server', g.server.id);
  t.same((await snapshot).states, [], 'nobody is listed any more');

  const dmEvent = JSON.stringify({ event: 'participant_left', room: { name: 'dm_1' }, participant: { identity: member.user.id } });
  t.equal((await post(await signed(dmEvent), dmEvent)).status, 200, 'a DM call room is acknowledged and ignored');
});

t.test('without LiveKit settings: 503', async (t) => {
  const bare = await setup(t);
  const g = await createGuild(bare, 'nolk');
  const channels = await bare.request('GET', `/api/channels/${g.server.id}`, { cookie: g.owner.cookie });
  const voiceId = channels.body.find((c: { type: string }) => c.type === 'voice').id;
  assertError(t, await bare.request('GET', `/api/voice/token/${voiceId}`, { cookie: g.owner.cookie }), 503, 'Voice is not configured');
  assertError(t, await bare.request('GET', '/api/voice/dm-token/1', { cookie: g.owner.cookie }), 503, 'Voice is not configured');
  assertError(t, await bare.request('POST', '/api/voice/webhook', { headers: { 'content-type': 'application/webhook+json' }, payload: '{}' }), 503);
});
