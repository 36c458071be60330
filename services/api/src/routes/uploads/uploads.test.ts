// Attachments end to end against a real API, Postgres and the S3 test server: multipart sends that
// stream to S3, the limits (413) and refusals (400/403) that leave nothing behind, an upload
// aborted on a real socket, /uploads serving (bytes, ranges, caching, downloads for unsafe
// types), and the delete-objects jobs of message, channel and server deletes.
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { QUEUE, bullConnection } from '@nexusguild/shared/jobs';
import { Flags } from '@nexusguild/shared/permissions';
import { addMember, createGuild, type GuildFixture, type Registered } from '../../../../../test/guild.ts';
import { assertError, multipart, setup, type Part } from '../../../../../test/harness.ts';
import { parseRange } from './routes.ts';

const MAX = 64 * 1024;
const env = await setup(t, { MAX_UPLOAD_BYTES: String(MAX) });
const sql = env.resources.sql;
const s3 = new S3Client({
  endpoint: env.config.s3.endpoint!, region: env.config.s3.region, forcePathStyle: true,
  credentials: { accessKeyId: env.config.s3.accessKeyId, secretAccessKey: env.config.s3.secretAccessKey },
});
const queue = new Queue(QUEUE, { connection: bullConnection(env.config.redisUrl), prefix: env.resources.keys.bullPrefix });
t.teardown(async () => {
  s3.destroy();
  await queue.close();
});

async function post(channelId: string, who: Registered, parts: Part[]) {
  const body = await multipart(parts);
  return env.request('POST', `/api/messages/${channelId}`, { cookie: who.cookie, ...body });
}

async function objectKeys(prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: env.config.s3.bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function rowsIn(channelId: string) {
  const [row] = await sql<{ messages: number; attachments: number }[]>`
    SELECT (SELECT count(*)::int FROM messages WHERE channel_id = ${channelId}) AS messages,
           (SELECT count(*)::int FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.channel_id = ${channelId}) AS attachments`;
  return row!;
}

async function deleteJobs(): Promise<string[][]> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.filter((j) => j.name === 'delete-objects').map((j) => (j.data as { keys: string[] }).keys);
}

async function textChannel(guild: GuildFixture, name: string): Promise<string> {
  const res = await env.request('POST', `/api/channels/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name } });
  return res.body.id;
}

/** Resolves once `check` holds, asked round trip by round trip (S3 has no events); fails after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) if (await check()) return;
  throw new Error(`timed out waiting until ${what}`);
}

const bytes = (n: number, seed = 7) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 13) % 256));

t.test('range parsing', async (t) => {
  t.same(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  t.same(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  t.same(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  t.same(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
  t.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  t.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  t.equal(parseRange('bytes=0-1,5-6', 100), null, 'several ranges: the whole object');
  t.equal(parseRange('items=0-1', 100), null);
  t.equal(parseRange('bytes=9-1', 100), null);
});

t.test('a message with files: streamed to S3, served back byte for byte, a processing job', async (t) => {
  const guild = await createGuild(env, 'files');
  const member = await addMember(env, guild);
  const png = bytes(5000);
  const text = Buffer.from('plain text file\n');
  // Files before and after the text fields.
  const res = await post(guild.general.id, member, [
    ['file', png, 'My Photo (1).png', 'image/png'],
    ['content', 'look at these'],
    ['files', text, '../../etc/notes.txt', 'text/plain'],
  ]);
  t.equal(res.status, 201);
  t.equal(res.body.content, 'look at these');
  const [a, b] = res.body.attachments;
  t.match(a, { filename: 'My Photo (1).png', size: png.length, content_type: 'image/png' });
  t.match(b, { filename: 'notes.txt', size: text.length, content_type: 'text/plain' }, 'no path in the file name');
  t.match(a.url, new RegExp(`^/uploads/attachments/${guild.general.id}/${a.id}-[0-9a-f]{16}/My_Photo_1_.png$`), 'key layout');
  t.notOk('width' in a, 'no dimensions before processing');
  t.same((await objectKeys(`attachments/${guild.general.id}/`)).length, 2);

  const served = await env.app.inject({ method: 'GET', url: a.url });
  t.equal(served.statusCode, 200);
  t.ok(served.rawPayload.equals(png), 'the same bytes');
  t.equal(served.headers['content-type'], 'image/png');
  t.equal(Number(served.headers['content-length']), png.length);
  t.equal(served.headers['accept-ranges'], 'bytes');
  t.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.equal(served.headers['x-content-type-options'], 'nosniff');
  t.notOk(served.headers['content-disposition'], 'an image is shown inline');
  const etag = served.headers.etag as string;
  t.ok(etag, 'an ETag');

  const partial = await env.app.inject({ method: 'GET', url: a.url, headers: { range: 'bytes=100-199' } });
  t.equal(partial.statusCode, 206);
  t.equal(partial.headers['content-range'], `bytes 100-199/${png.length}`);
  t.ok(partial.rawPayload.equals(png.subarray(100, 200)), 'the range');
  const tail = await env.app.inject({ method: 'GET', url: a.url, headers: { range: 'bytes=-10' } });
  t.ok(tail.rawPayload.equals(png.subarray(-10)), 'a suffix range');
  const beyond = await env.app.inject({ method: 'GET', url: a.url, headers: { range: `bytes=${png.length}-` } });
  t.equal(beyond.statusCode, 416);
  t.equal(beyond.headers['content-range'], `bytes */${png.length}`);
  const cached = await env.app.inject({ method: 'GET', url: a.url, headers: { 'if-none-match': etag } });
  t.equal(cached.statusCode, 304);
  t.equal(cached.body, '');

  const head = await env.app.inject({ method: 'HEAD', url: a.url });
  t.equal(head.statusCode, 200, 'HEAD works');
  t.equal(Number(head.headers['content-length']), png.length);
  t.equal(head.body, '');

  const download = await env.app.inject({ method: 'GET', url: b.url });
  t.equal(download.body, text.toString());
  t.match(download.headers['content-disposition'], /^attachment/, 'text is a download');

  const history = await env.request('GET', `/api/messages/${guild.general.id}`, { cookie: member.cookie });
  t.same(history.body[0].attachments, res.body.attachments, 'the history shows the same attachments');
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  t.ok(jobs.some((j) => j.name === 'process-attachments' && j.data.messageId === res.body.id), 'process-attachments enqueued');
});

t.test('unsafe types are downloads, never sniffed; unknown keys 404', async (t) => {
  const guild = await createGuild(env, 'unsafe');
  const html = Buffer.from('<script>alert(1)</script>');
  const res = await post(guild.general.id, guild.owner, [['file', html, 'page.html', 'text/html'], ['file', html, 'x.svg', 'image/svg+xml']]);
  t.equal(res.status, 201);
  for (const attachment of res.body.attachments) {
    const served = await env.app.inject({ method: 'GET', url: attachment.url });
    t.equal(served.statusCode, 200);
    t.match(served.headers['content-disposition'], /^attachment; filename="/, `${attachment.content_type} is a download`);
    t.equal(served.headers['x-content-type-options'], 'nosniff');
  }
  for (const url of ['/uploads/attachments/1/2/nothing.png', '/uploads/attachments/../secret', '/uploads/.env', '/uploads/a//b']) {
    const missing = await env.app.inject({ method: 'GET', url });
    t.equal(missing.statusCode, 404, url);
    t.type(missing.json().error, 'string');
  }
});

t.test('refusals and limits leave no object and no row', async (t) => {
  const guild = await createGuild(env, 'limits');
  const member = await addMember(env, guild);
  const channel = await textChannel(guild, 'uploads');
  const prefix = `attachments/${channel}/`;
  const nothingLeft = async (what: string) => {
    t.same(await objectKeys(prefix), [], `${what}: no object`);
    t.same(await rowsIn(channel), { messages: 0, attachments: 0 }, `${what}: no row`);
  };

  // Oversized: the first file is fine and stored, the second is too large.
  assertError(t, await post(channel, member, [['file', bytes(1000), 'ok.bin'], ['file', bytes(MAX + 1), 'big.bin'], ['content', 'x']]), 413, /File too large/);
  await nothingLeft('too large');
  const exact = await post(channel, member, [['file', bytes(MAX), 'exact.bin']]);
  t.equal(exact.status, 201, 'exactly the limit is fine');
  t.equal(exact.body.attachments[0].size, MAX);
  await env.request('DELETE', `/api/messages/${exact.body.id}`, { cookie: member.cookie });
  await sql`DELETE FROM messages WHERE channel_id = ${channel}`;
  await env.resources.storage.remove(await objectKeys(prefix));

  const eleven: Part[] = Array.from({ length: 11 }, (_, i) => ['files', bytes(10), `f${i}.bin`] as Part);
  assertError(t, await post(channel, member, eleven), 413, /Too many files/);
  await nothingLeft('eleven files');

  assertError(t, await post(channel, member, [['replyTo', '']]), 400, 'Message must have content or attachments');
  assertError(t, await post(channel, member, [['file', Buffer.alloc(0), '']]), 400, 'Message must have content or attachments', 'an empty file input is no file');
  assertError(t, await post(channel, member, [['avatar', bytes(10), 'a.png']]), 400, /Unexpected field name/);
  assertError(t, await post(channel, member, [['file', bytes(10), 'a.bin'], ['content', 'y'.repeat(2001)]]), 400, /2000/);
  assertError(t, await post(channel, member, [['file', bytes(10), 'a.bin'], ['replyTo', '42']]), 400, /in this channel/);
  assertError(t, await post(channel, member, [['file', bytes(10), 'a.bin'], ['content', '@everyone']]), 403, /@everyone/);
  assertError(t, await post(channel, member, [['content', 'z'.repeat(20_000)]]), 413, /content is too large/);
  await env.request('PUT', `/api/channels/${channel}/permissions/${member.user.id}`, {
    cookie: guild.owner.cookie, json: { target_type: 'member', deny: Flags.ATTACH_FILES.toString() },
  });
  assertError(t, await post(channel, member, [['content', 'hi'], ['file', bytes(10), 'a.bin']]), 403, /ATTACH_FILES/);
  await nothingLeft('refused');
  t.equal((await post(channel, member, [['content', 'text only']])).status, 201, 'text without files needs no ATTACH_FILES');
  t.same(await objectKeys(prefix), []);
});

t.test('an upload aborted midway on a real socket leaves no row and no object', async (t) => {
  const guild = await createGuild(env, 'abort');
  const channel = await textChannel(guild, 'aborted');
  const prefix = `attachments/${channel}/`;
  const first = await multipart([['file', bytes(2000), 'first.bin'], ['content', 'never']]);
  // The second file's headers and a little of its body, then the client goes away.
  const boundary = first.headers['content-type'].split('boundary=')[1]!;
  const start = first.payload.subarray(0, first.payload.length - `--${boundary}--\r\n`.length);
  const second = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="second.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const url = new URL(`/api/messages/${channel}`, env.url);
  const req = httpRequest(url, {
    method: 'POST',
    headers: { ...first.headers, cookie: guild.owner.cookie, 'content-length': String(start.length + second.length + 10_000) },
  });
  req.on('error', () => {}); // the abort below
  req.write(start);
  req.write(second);
  req.write(bytes(1000));
  await until('the first file is stored', async () => (await objectKeys(prefix)).length === 1);
  req.destroy();
  await until('the stored file is removed', async () => (await objectKeys(prefix)).length === 0);
  t.same(await rowsIn(channel), { messages: 0, attachments: 0 }, 'no row');
});

t.test('deleting a message, a channel or a server enqueues the removal of its objects', async (t) => {
  const guild = await createGuild(env, 'cleanup');
  const channel = await textChannel(guild, 'doomed');
  const keysOf = (res: { body: { attachments: { url: string }[] } }) => res.body.attachments.map((a) => a.url.replace(/^\/uploads\//, '')).sort();

  const one = await post(guild.general.id, guild.owner, [['file', bytes(10), 'one.bin'], ['file', bytes(10), 'two.bin']]);
  t.equal((await env.request('DELETE', `/api/messages/${one.body.id}`, { cookie: guild.owner.cookie })).status, 204);
  t.ok((await deleteJobs()).some((keys) => keys.sort().join() === keysOf(one).join()), 'the message’s objects');

  const inChannel = await post(channel, guild.owner, [['file', bytes(10), 'c.bin']]);
  await sql`UPDATE attachments SET thumbnail_key = 'thumbnails/x.webp' WHERE message_id = ${inChannel.body.id}`;
  t.equal((await env.request('DELETE', `/api/channels/${channel}`, { cookie: guild.owner.cookie })).status, 204);
  t.ok((await deleteJobs()).some((keys) => keys.sort().join() === [...keysOf(inChannel), 'thumbnails/x.webp'].sort().join()), 'the channel’s objects and thumbnails');

  const last = await post(guild.general.id, guild.owner, [['file', bytes(10), 'last.bin']]);
  t.equal((await env.request('DELETE', `/api/servers/${guild.server.id}`, { cookie: guild.owner.cookie })).status, 204);
  t.ok((await deleteJobs()).some((keys) => keys.join() === keysOf(last).join()), 'the server’s objects');
});

t.test('a media channel post carries its files', async (t) => {
  const guild = await createGuild(env, 'media');
  const media = await env.request('POST', `/api/channels/${guild.server.id}`, { cookie: guild.owner.cookie, json: { name: 'pics', type: 'media' } });
  const body = await multipart([['title', 'Sunset'], ['file', bytes(300), 'sunset.jpg', 'image/jpeg']]);
  const res = await env.request('POST', `/api/channels/${media.body.id}/posts`, { cookie: guild.owner.cookie, ...body });
  t.equal(res.status, 201);
  t.match(res.body, { name: 'Sunset', message: { content: '', attachments: [{ filename: 'sunset.jpg', size: 300 }] } });
  t.match(res.body.message.attachments[0].url, new RegExp(`^/uploads/attachments/${res.body.id}/`), 'stored under the post');
  const served = await env.app.inject({ method: 'GET', url: res.body.message.attachments[0].url });
  t.ok(served.rawPayload.equals(bytes(300)));
});

t.test('a malformed multipart body is a 400', async (t) => {
  const guild = await createGuild(env, 'malformed');
  const noBoundary = await env.request('POST', `/api/messages/${guild.general.id}`, {
    cookie: guild.owner.cookie, payload: 'x', headers: { 'content-type': 'multipart/form-data' },
  });
  assertError(t, noBoundary, 400);
  const broken = await env.request('POST', `/api/messages/${guild.general.id}`, {
    cookie: guild.owner.cookie, payload: '--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
  });
  assertError(t, broken, 400);
  t.same(await rowsIn(guild.general.id), { messages: 0, attachments: 0 });
});

t.test('S3 failing mid-send is a 503 and leaves no row', async (t) => {
  const other = await setup(t, { MAX_UPLOAD_BYTES: String(MAX) });
  const guild = await createGuild(other, 'nos3');
  const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
  await s3.send(new DeleteBucketCommand({ Bucket: other.config.s3.bucket }));
  const body = await multipart([['content', 'x'], ['file', bytes(100), 'a.bin']]);
  const res = await other.request('POST', `/api/messages/${guild.general.id}`, { cookie: guild.owner.cookie, ...body });
  assertError(t, res, 503, /storage/);
  const [row] = await other.resources.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM messages`;
  t.equal(row!.n, 0);
  t.equal((await other.request('POST', `/api/messages/${guild.general.id}`, { cookie: guild.owner.cookie, json: { content: 'text still works' } })).status, 201);
});
