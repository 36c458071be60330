// Custom emoji routes against a real API, Postgres, the S3 test server and socket.io clients:
// list, upload (fields, sniffed types, limits, name rules, duplicates, the cap under concurrent
// uploads), serving under /uploads, delete with its object removal job, and the events.
import t from 'tap';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { QUEUE, bullConnection } from '@nexusguild/shared/jobs';
import { Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, listenToServer, memberWith, type GuildFixture, type Registered } from '../../../../../test/guild.ts';
import { assertError, multipart, nextEvent, setup, type Part } from '../../../../../test/harness.ts';
import { MAX_BYTES, MAX_PER_SERVER } from './schema.ts';
import { sniffImage } from './routes.ts';

const env = await setup(t);
const sql = env.resources.sql;
const queue = new Queue(QUEUE, { connection: bullConnection(env.config.redisUrl), prefix: env.resources.keys.bullPrefix });
const s3 = new S3Client({
  endpoint: env.config.s3.endpoint!, region: env.config.s3.region, forcePathStyle: true,
  credentials: { accessKeyId: env.config.s3.accessKeyId, secretAccessKey: env.config.s3.secretAccessKey },
});
t.teardown(async () => {
  s3.destroy();
  await queue.close();
});

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
const GIF = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(32, 2)]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4, 0), Buffer.from('WEBPVP8 '), Buffer.alloc(32, 3)]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(32, 4)]);

async function upload(guild: GuildFixture, who: Registered, parts: Part[]) {
  return env.request('POST', `/api/servers/${guild.server.id}/emojis`, { cookie: who.cookie, ...(await multipart(parts, 'image/png')) });
}

const emoji = (name: string, bytes = PNG, field = 'emoji', type = 'image/png'): Part[] => [['name', name], [field, bytes, `${name}.png`, type]];

/** Objects stored under `prefix` in the S3 test server. */
async function objects(prefix: string): Promise<number> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: env.config.s3.bucket, Prefix: prefix }));
  return res.KeyCount ?? 0;
}

t.test('sniffing', async (t) => {
  t.equal(sniffImage(PNG), 'image/png');
  t.equal(sniffImage(GIF), 'image/gif');
  t.equal(sniffImage(WEBP), 'image/webp');
  t.equal(sniffImage(JPEG), 'image/jpeg');
  t.equal(sniffImage(Buffer.from('<svg xmlns=')), null);
  t.equal(sniffImage(Buffer.alloc(0)), null);
});

t.test('auth, ids, membership, permission', async (t) => {
  const guild = await createGuild(env, 'emo');
  const member = await addMember(env, guild);
  const stranger = await env.register('stranger');
  t.equal((await env.request('GET', `/api/servers/${guild.server.id}/emojis`)).status, 401);
  t.equal((await env.request('POST', `/api/servers/${guild.server.id}/emojis`, await multipart(emoji('aa')))).status, 401);
  t.equal((await env.request('DELETE', `/api/servers/${guild.server.id}/emojis/1`)).status, 401);
  assertError(t, await env.request('GET', '/api/servers/abc/emojis', { cookie: member.cookie }), 400);
  assertError(t, await env.request('DELETE', `/api/servers/${guild.server.id}/emojis/abc`, { cookie: guild.owner.cookie }), 400);
  assertError(t, await env.request('GET', '/api/servers/12345/emojis', { cookie: member.cookie }), 404, 'Server not found');
  assertError(t, await env.request('GET', `/api/servers/${guild.server.id}/emojis`, { cookie: stranger.cookie }), 403, 'You are not a member of this server');
  assertError(t, await upload(guild, stranger, emoji('aa')), 403, 'You are not a member of this server');
  assertError(t, await upload(guild, member, emoji('aa')), 403, 'Missing permission: MANAGE_GUILD_EXPRESSIONS');
  assertError(t, await env.request('DELETE', `/api/servers/${guild.server.id}/emojis/1`, { cookie: member.cookie }), 403, 'Missing permission: MANAGE_GUILD_EXPRESSIONS');
  t.equal(await objects(`emojis/${guild.server.id}/`), 0, 'nothing stored');
});

t.test('upload, list, serve, delete, with events', async (t) => {
  const guild = await createGuild(env, 'emolife');
  const manager = await memberWith(env, guild, Flags.MANAGE_GUILD_EXPRESSIONS, 'Emoji');
  const member = await addMember(env, guild);
  const socket = await listenToServer(env, t, member.cookie, guild.server.id);

  const told = nextEvent(socket, 'server_emojis_updated');
  const res = await upload(guild, manager, emoji('party_time'));
  t.equal(res.status, 201);
  t.same(Object.keys(res.body).sort(), ['created_at', 'created_by', 'filename', 'id', 'name', 'server_id', 'url']);
  t.match(res.body, { server_id: guild.server.id, name: 'party_time', created_by: manager.user.id });
  t.match(res.body.url, new RegExp(`^/uploads/emojis/${guild.server.id}/`));
  t.equal(res.body.url.endsWith(`/${res.body.filename}`), true, 'filename is the stored name');
  t.same(await told, { serverId: guild.server.id }, 'server_emojis_updated to the server room');

  const served = await env.request('GET', res.body.url);
  t.equal(served.status, 200, 'served under /uploads');
  t.equal(served.headers['content-type'], 'image/png');

  for (const [name, bytes, field, type] of [['gif_one', GIF, 'file', 'image/gif'], ['webp_one', WEBP, 'image', 'image/webp'], ['jpeg_one', JPEG, 'emoji', 'image/jpeg']] as const) {
    const r = await upload(guild, manager, emoji(name, bytes, field, type));
    t.equal(r.status, 201, `${name} under ${field}`);
  }
  // A png declared as a gif is stored as what it is.
  const mislabelled = await upload(guild, manager, emoji('mislabelled', PNG, 'emoji', 'image/gif'));
  t.equal(mislabelled.status, 201);
  const [row] = await sql<{ content_type: string }[]>`SELECT content_type FROM custom_emojis WHERE id = ${mislabelled.body.id}`;
  t.equal(row!.content_type, 'image/png', 'the sniffed type is recorded');

  const list = await env.request('GET', `/api/servers/${guild.server.id}/emojis`, { cookie: member.cookie });
  t.equal(list.status, 200);
  t.same(list.body.map((e: { name: string }) => e.name), ['party_time', 'gif_one', 'webp_one', 'jpeg_one', 'mislabelled'], 'a bare array, oldest first');

  const gone = nextEvent(socket, 'server_emojis_updated');
  const del = await env.request('DELETE', `/api/servers/${guild.server.id}/emojis/${res.body.id}`, { cookie: manager.cookie });
  t.equal(del.status, 204);
  await gone;
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  t.ok(jobs.some((j) => j.name === 'delete-objects' && (j.data as { keys: string[] }).keys.includes(res.body.url.slice('/uploads/'.length))), 'its object removal is enqueued');
  assertError(t, await env.request('DELETE', `/api/servers/${guild.server.id}/emojis/${res.body.id}`, { cookie: manager.cookie }), 404, 'Emoji not found');
  const other = await createGuild(env, 'emoother');
  assertError(t, await env.request('DELETE', `/api/servers/${other.server.id}/emojis/${list.body[1].id}`, { cookie: other.owner.cookie }), 404, 'Emoji not found', "another server's emoji");
});

t.test('bad uploads are refused and leave nothing behind', async (t) => {
  const guild = await createGuild(env, 'emobad');
  const owner = guild.owner;
  const cases: [string, Part[], number, RegExp?][] = [
    ['no name', [['emoji', PNG, 'a.png']], 400, /Emoji name is required/],
    ['blank name', emoji('   '), 400, /Emoji name is required/],
    ['short name', emoji('a'), 400, /2-32/],
    ['long name', emoji('a'.repeat(33)), 400, /2-32/],
    ['bad characters', emoji('no-dash'), 400, /2-32/],
    ['no file', [['name', 'nofile']], 400, /Emoji image is required/],
    ['svg bytes', emoji('svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), 415, /Only image files/],
    ['declared as text', emoji('txt', PNG, 'emoji', 'text/plain'), 415, /Only image files/],
    ['wrong field', emoji('field', PNG, 'avatar'), 400, /Unexpected field/],
    ['too large', emoji('big', Buffer.concat([PNG, Buffer.alloc(MAX_BYTES)])), 413],
    ['two files', [...emoji('two'), ['file', PNG, 'b.png', 'image/png']], 413],
  ];
  for (const [what, parts, status, error] of cases) assertError(t, await upload(guild, owner, parts), status, error, what);
  assertError(t, await env.request('POST', `/api/servers/${guild.server.id}/emojis`, { cookie: owner.cookie, json: { name: 'json' } }), 415, undefined, 'not multipart');
  t.equal((await env.request('GET', `/api/servers/${guild.server.id}/emojis`, { cookie: owner.cookie })).body.length, 0, 'no rows');
  t.equal(await objects(`emojis/${guild.server.id}/`), 0, 'no objects');

  t.equal((await upload(guild, owner, emoji('dupe'))).status, 201);
  assertError(t, await upload(guild, owner, emoji('dupe')), 409, 'An emoji with this name already exists in this server');
  t.equal((await upload(guild, owner, emoji('Dupe'))).status, 201, 'names are case-sensitive (as in the original)');
});

t.test(`at most ${MAX_PER_SERVER} per server, also under concurrent uploads`, async (t) => {
  const guild = await createGuild(env, 'emocap');
  const owner = guild.owner;
  const rows = Array.from({ length: MAX_PER_SERVER - 3 }, (_, i) => ({
    id: env.resources.ids.next(), server_id: guild.server.id, name: `pre_${i}`, storage_key: `emojis/${guild.server.id}/x${i}/a.png`, content_type: 'image/png',
  }));
  await sql`INSERT INTO custom_emojis ${sql(rows)}`;
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(guild, owner, emoji(`race_${i}`))));
  t.equal(results.filter((r) => r.status === 201).length, 3, 'exactly three fit');
  t.ok(results.filter((r) => r.status !== 201).every((r) => r.status === 400 && /at most 50/.test(r.body.error)), 'the rest are 400');
  const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM custom_emojis WHERE server_id = ${guild.server.id}`;
  t.equal(count!.n, MAX_PER_SERVER);
  assertError(t, await upload(guild, owner, emoji('late')), 400, /at most 50/, 'a full server refuses before reading the upload');
});
