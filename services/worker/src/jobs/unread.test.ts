// Unread and mention counts end to end: messages enqueue aggregate-unread, the real worker counts,
// GET /api/channels/:serverId shows the counts, PATCH /api/channels/:id/read resets them and tells
// the user's other sockets. Also the coalescing of bursts and the races with a running aggregation.
import t, { type Test } from 'tap';
import { QueueEvents } from 'bullmq';
import { bullConnection, QUEUE } from '@nexusguild/shared/jobs';
import { readsRepo } from '@nexusguild/shared/repos/reads';
import { addMember, createGuild, sendMessage, type GuildFixture, type Registered } from '../../../../test/guild.ts';
import { assertError, nextEvent, setup } from '../../../../test/harness.ts';
import { startWorker } from '../app.ts';

const env = await setup(t);
const { resources } = env;
const sql = resources.sql;
const worker = startWorker(resources, { concurrency: 2 });
t.teardown(() => worker.close());
await worker.worker.waitUntilReady();

const events = new QueueEvents(QUEUE, { connection: bullConnection(resources.config.redisUrl), prefix: resources.keys.bullPrefix });
t.teardown(() => events.close());
await events.waitUntilReady();

interface Sent { id: string }

/** A message through the real send route (which resolves mentions and enqueues aggregate-unread). */
const send = (channelId: string, author: Registered, content: string): Promise<Sent> => sendMessage(env, channelId, author, { content });

interface Counts { unread_count: number; mention_count: number }

async function counts(guild: GuildFixture, who: Registered, channelId: string): Promise<Counts> {
  const res = await env.request('GET', `/api/channels/${guild.server.id}`, { cookie: who.cookie });
  if (res.status !== 200) throw new Error(`list failed: ${res.status}`);
  const c = res.body.find((x: { id: string }) => x.id === channelId);
  return { unread_count: c.unread_count, mention_count: c.mention_count };
}

/** Polls the channel list until `who` sees `want` in the channel (the worker converges within about a second). */
async function converges(t: Test, guild: GuildFixture, who: Registered, channelId: string, want: Counts, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let got = await counts(guild, who, channelId);
  while (Date.now() < deadline && (got.unread_count !== want.unread_count || got.mention_count !== want.mention_count)) {
    await new Promise((r) => setTimeout(r, 25)); // polling interval, not synchronisation: the loop checks the state
    got = await counts(guild, who, channelId);
  }
  t.same(got, want, what);
}

/** Resolves once a query of this database waits for a row lock (harness's untilBlocked sees table locks only). */
async function untilWaiting(timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
  }
  throw new Error('no query is waiting for a lock');
}

/** Resolves once no job is queued or running (subtests run one at a time, so all of them are this test's). */
async function idle(timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await resources.jobs.counts();
    if (!c.active && !c.waiting && !c.delayed) return;
    if (Date.now() > deadline) throw new Error(`jobs still pending: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('counts per user: others\' messages after the cursor, mentions of each kind', async (t) => {
  const guild = await createGuild(env, 'unread');
  const a = guild.owner;
  const b = await addMember(env, guild);
  const c = await addMember(env, guild);
  const ch = guild.general.id;

  await send(ch, a, 'hello');
  await send(ch, a, `hi @${b.user.username.toUpperCase()}!`); // whole word, any case
  await send(ch, a, `hey @${b.user.username}x`); // not b: a longer word
  await send(ch, a, `<@${c.user.id}> look`);
  await send(ch, a, '@everyone meeting'); // the owner may mention everyone
  // b may not: the send path refuses it, so it counts for nobody.
  const refused = await env.request('POST', `/api/messages/${ch}`, { cookie: b.cookie, json: { content: '@everyone ping' } });
  t.equal(refused.status, 403, '@everyone without MENTION_EVERYONE is refused');
  await send(ch, b, 'plain');
  await send(ch, b, `@${a.user.username}`);

  await converges(t, guild, a, ch, { unread_count: 2, mention_count: 1 }, 'a: b\'s two messages, one names a');
  await converges(t, guild, b, ch, { unread_count: 5, mention_count: 2 }, 'b: a\'s five, @b and @everyone');
  await converges(t, guild, c, ch, { unread_count: 7, mention_count: 2 }, 'c: all seven, <@c> and @everyone (not the disallowed one)');
  const other = (await env.request('GET', `/api/channels/${guild.server.id}`, { cookie: b.cookie })).body
    .filter((x: { id: string }) => x.id !== ch);
  t.ok(other.every((x: Counts) => x.unread_count === 0 && x.mention_count === 0), 'other channels stay at 0');

  t.test('a member who joins later counts only what came after they joined', async (t) => {
    const d = await addMember(env, guild);
    await send(ch, a, `@${d.user.username} welcome`);
    await converges(t, guild, d, ch, { unread_count: 1, mention_count: 1 }, 'only the message after joining');
  });

  t.test('mark read resets the caller\'s counts and tells their other sockets', async (t) => {
    const tab1 = await env.connect(b.cookie);
    const tab2 = await env.connect(b.cookie);
    t.teardown(() => { tab1.close(); tab2.close(); });
    const told = nextEvent(tab2, 'channel_read', { filter: (p) => p.channelId === ch });
    const res = await env.request('PATCH', `/api/channels/${ch}/read`, { cookie: b.cookie });
    t.equal(res.status, 200);
    t.equal(res.body.ok, true);
    t.same(await told, { channelId: ch }, 'the other tab heard of it');
    t.same(await counts(guild, b, ch), { unread_count: 0, mention_count: 0 }, 'reset at once');
    t.not((await counts(guild, c, ch)).unread_count, 0, 'only for the caller');

    await send(ch, a, 'after the read');
    await converges(t, guild, b, ch, { unread_count: 1, mention_count: 0 }, 'counting resumes after the cursor');
  });

  t.test('mark read up to a given message counts what is after it', async (t) => {
    const first = await send(ch, b, 'one');
    await send(ch, b, `two @${c.user.username}`);
    await converges(t, guild, c, ch, { unread_count: 11, mention_count: 3 }, 'before');
    const res = await env.request('PATCH', `/api/channels/${ch}/read`, { cookie: c.cookie, json: { messageId: first.id } });
    t.equal(res.status, 200);
    t.equal(res.body.last_read_id, first.id);
    t.same(await counts(guild, c, ch), { unread_count: 1, mention_count: 1 }, 'only the message after it is left');
  });
});

t.test('counts from before a member left do not come back when they rejoin', async (t) => {
  const guild = await createGuild(env, 'rejoin');
  const member = await addMember(env, guild);
  const ch = guild.general.id;
  await send(ch, guild.owner, `@${member.user.username} one`);
  await converges(t, guild, member, ch, { unread_count: 1, mention_count: 1 }, 'counted while a member');
  const left = await env.request('POST', `/api/servers/${guild.server.id}/leave`, { cookie: member.cookie });
  t.equal(left.status < 300, true, 'left');
  await send(ch, guild.owner, 'while away');
  await addMember(env, guild, member);
  t.same(await counts(guild, member, ch), { unread_count: 0, mention_count: 0 }, 'nothing unread right after rejoining');
  await send(ch, guild.owner, 'after rejoining');
  await converges(t, guild, member, ch, { unread_count: 1, mention_count: 0 }, 'only what came after the rejoin');
});

t.test('mark read: errors, an empty channel, access', async (t) => {
  const guild = await createGuild(env, 'readerr');
  const member = await addMember(env, guild);
  const stranger = await env.register('stranger');
  const other = await createGuild(env, 'readother');
  const foreign = await send(other.general.id, other.owner, 'elsewhere');

  assertError(t, await env.request('PATCH', `/api/channels/${guild.general.id}/read`, {}), 401);
  assertError(t, await env.request('PATCH', '/api/channels/abc/read', { cookie: member.cookie }), 400);
  assertError(t, await env.request('PATCH', '/api/channels/12345/read', { cookie: member.cookie }), 404, 'Channel not found');
  assertError(t, await env.request('PATCH', `/api/channels/${guild.general.id}/read`, { cookie: stranger.cookie }), 403);
  const wrong = await env.request('PATCH', `/api/channels/${guild.general.id}/read`, { cookie: member.cookie, json: { messageId: foreign.id } });
  assertError(t, wrong, 400, /not a message of this channel/, 'a message of another channel');
  assertError(t, await env.request('PATCH', `/api/channels/${guild.general.id}/read`, { cookie: member.cookie, json: { messageId: 'x' } }), 400);

  const empty = await env.request('PATCH', `/api/channels/${guild.general.id}/read`, { cookie: member.cookie });
  t.equal(empty.status, 200, 'an empty channel can be marked read');
  t.ok(BigInt(empty.body.last_read_id) > 0n, 'with a fresh snowflake as the cursor');
  await send(guild.general.id, guild.owner, 'first');
  await converges(t, guild, member, guild.general.id, { unread_count: 1, mention_count: 0 }, 'a message after it counts');
});

t.test('a burst coalesces into a few aggregations and converges', async (t) => {
  const guild = await createGuild(env, 'burst');
  const member = await addMember(env, guild);
  const ch = guild.general.id;
  let runs = 0;
  const onCompleted = ({ jobId }: { jobId: string }) => {
    void jobId;
    runs += 1;
  };
  events.on('completed', onCompleted);
  t.teardown(() => { events.off('completed', onCompleted); });
  const N = 300;
  const ids = Array.from({ length: N }, () => resources.ids.next());
  // The messages and their enqueues as N sends would make them, as fast as they come.
  for (let i = 0; i < N; i += 50) {
    const batch = ids.slice(i, i + 50).map((id) => ({ id, channel_id: ch, author_id: guild.owner.user.id, content: `m${id}` }));
    await sql`INSERT INTO messages ${sql(batch)}`;
    await Promise.all(batch.map(() => resources.jobs.enqueue('aggregate-unread', { channelId: ch })));
  }
  const started = Date.now();
  await converges(t, guild, member, ch, { unread_count: N, mention_count: 0 }, `${N} unread`);
  t.comment(`converged ${Date.now() - started} ms after the last enqueue; ${runs} aggregation(s) completed`);
  t.ok(runs <= 5, `${N} enqueues caused ${runs} runs`);
});

t.test('a message committed while an aggregation runs is counted by another run', async (t) => {
  const guild = await createGuild(env, 'race');
  const member = await addMember(env, guild);
  const ch = guild.general.id;
  await send(ch, guild.owner, 'one');
  await converges(t, guild, member, ch, { unread_count: 1, mention_count: 0 }, 'first counted');

  // Hold the next aggregation inside its statement: the member's row is locked.
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  t.teardown(() => release());
  const locker = sql.begin(async (tx) => {
    await tx`SELECT 1 FROM read_states WHERE user_id = ${member.user.id} AND channel_id = ${ch} FOR UPDATE`;
    await held;
  });
  await send(ch, guild.owner, 'two');
  await untilWaiting(); // the run read its snapshot and waits
  await send(ch, guild.owner, 'three'); // committed after that snapshot
  release();
  await locker;
  await converges(t, guild, member, ch, { unread_count: 3, mention_count: 0 }, 'the run after it counted the third');
});

t.test('an aggregation running across a mark-read does not bring the counts back', async (t) => {
  const guild = await createGuild(env, 'markrace');
  const member = await addMember(env, guild);
  const ch = guild.general.id;
  await send(ch, guild.owner, 'one');
  await converges(t, guild, member, ch, { unread_count: 1, mention_count: 0 }, 'counted');

  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  t.teardown(() => release());
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => { locked = r; });
  // The mark-read's own transaction holds the row while the aggregation (which counted from the
  // old cursor) waits for it, then commits the new cursor.
  const reader = sql.begin(async (tx) => {
    await tx`SELECT 1 FROM read_states WHERE user_id = ${member.user.id} AND channel_id = ${ch} FOR UPDATE`;
    locked();
    await held;
    await readsRepo(tx).markRead(member.user.id, ch, null, resources.ids.next());
  });
  await isLocked;
  await send(ch, guild.owner, 'two');
  await untilWaiting();
  release();
  await reader;
  await idle();
  t.same(await counts(guild, member, ch), { unread_count: 0, mention_count: 0 }, 'the held run skipped the moved cursor');
  await send(ch, guild.owner, 'three');
  await converges(t, guild, member, ch, { unread_count: 1, mention_count: 0 }, 'then only the message after the read counts');
});
