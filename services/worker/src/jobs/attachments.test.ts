// process-attachments end to end: files sent through the real multipart route land in the S3 test
// server, the real worker sniffs them, sizes images and stores thumbnails, and message_updated
// reaches a socket in the channel. Also re-runs, retries after a missing object, bounded attempts,
// deleted messages, and images libvips refuses (a decompression bomb, corrupt bytes).
import t, { type Test } from 'tap';
import { crc32 } from 'node:zlib';
import type { Job } from 'bullmq';
import sharp from 'sharp';
import { addMember, createGuild, roomAck, type GuildFixture, type Registered } from '../../../../test/guild.ts';
import { multipart, nextEvent, record, setup, type Part, type TestSocket } from '../../../../test/harness.ts';
import { startWorker } from '../app.ts';
import { MAX_PIXELS, THUMBNAIL_SIZE, thumbnailKey } from './attachments.ts';

const env = await setup(t);
const { resources } = env;
const sql = resources.sql;
const worker = startWorker(resources, { concurrency: 2 });
t.teardown(() => worker.close());
await worker.worker.waitUntilReady();

async function sendFiles(channelId: string, who: Registered, parts: Part[]) {
  const res = await env.request('POST', `/api/messages/${channelId}`, { cookie: who.cookie, ...(await multipart(parts)) });
  if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; attachments: { id: string; url: string }[] };
}

/** The next outcome of a process-attachments job for `messageId` on the worker. */
function outcome(messageId: string, event: 'completed' | 'failed', timeoutMs = 8000): Promise<Job> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} job for ${messageId}`)), timeoutMs);
    const listener = (job: Job | undefined) => {
      if (job?.name !== 'process-attachments' || job.data.messageId !== messageId) return;
      clearTimeout(timer);
      worker.worker.off(event, listener);
      resolve(job);
    };
    worker.worker.on(event, listener);
  });
}

async function attachmentRows(messageId: string) {
  return sql<{ id: string; content_type: string; width: number | null; height: number | null; thumbnail_key: string | null; processed_at: Date | null }[]>`
    SELECT id, content_type, width, height, thumbnail_key, processed_at FROM attachments WHERE message_id = ${messageId} ORDER BY id`;
}

async function fetchRaw(url: string) {
  return env.app.inject({ method: 'GET', url });
}

/** A PNG whose header claims `width` × `height` (valid CRC) over a 1×1 image's data: libvips must refuse it before decoding. */
async function claimedPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer());
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

async function channelSocket(guild: GuildFixture, who: Registered, t: Test): Promise<TestSocket> {
  const socket = await env.connect(who.cookie);
  t.teardown(() => socket.close());
  t.same(await roomAck(socket, 'join_channel', guild.general.id), { ok: true });
  return socket;
}

const guild = await createGuild(env, 'files');
const member = await addMember(env, guild);
const ch = guild.general.id;

t.test('an image gets its type, size and a thumbnail; message_updated carries the full message', async (t) => {
  const socket = await channelSocket(guild, member, t);
  const image = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#3366ff' } }).jpeg().toBuffer();
  const sent = await sendFiles(ch, guild.owner, [
    ['content', 'look'],
    ['file', image, 'photo.bin', 'application/octet-stream'], // declared wrongly: the bytes say jpeg
    ['file', Buffer.from('just some text\n'), 'notes.txt', 'text/plain'],
  ]);
  const updated = await nextEvent(socket, 'message_updated', { filter: (m) => m.id === sent.id, timeoutMs: 8000 });
  t.equal(updated.content, 'look', 'the full Message Object');
  t.equal(updated.username, guild.owner.user.username);
  const [photo, notes] = updated.attachments;
  t.match(photo, { content_type: 'image/jpeg', width: 800, height: 600, filename: 'photo.bin' });
  t.equal(photo!.thumbnail_url, `/uploads/${thumbnailKey(photo!.url.slice('/uploads/'.length))}`, 'the thumbnail sits next to the original');
  t.match(notes, { content_type: 'text/plain', filename: 'notes.txt' });
  t.notOk('width' in notes! || 'thumbnail_url' in notes!, 'no size or thumbnail for text');

  const thumb = await fetchRaw(photo!.thumbnail_url!);
  t.equal(thumb.statusCode, 200, 'the API serves the thumbnail');
  t.equal(thumb.headers['content-type'], 'image/webp');
  const meta = await sharp(thumb.rawPayload).metadata();
  t.same([meta.format, meta.width, meta.height], ['webp', THUMBNAIL_SIZE, 300], 'at most 400 px, aspect kept');

  const history = await env.request('GET', `/api/messages/${ch}`, { cookie: member.cookie });
  t.same(history.body.find((m: { id: string }) => m.id === sent.id).attachments, updated.attachments, 'history shows the same attachments');

  t.test('running the job again changes nothing and emits nothing', async (t) => {
    const before = await attachmentRows(sent.id);
    const seen = record(socket, 'message_updated');
    const again = outcome(sent.id, 'completed');
    await resources.jobs.enqueue('process-attachments', { messageId: sent.id });
    await again;
    await env.flush(socket, member.user.id); // anything the job emitted has arrived by now
    t.same(seen, [], 'no event');
    t.same(await attachmentRows(sent.id), before, 'rows untouched');
  });
});

/** A message with one attachment row whose object is not in S3 (yet), as a send whose upload lags would leave it. */
async function messageWithMissingObject(): Promise<{ messageId: string; key: string }> {
  const messageId = resources.ids.next();
  const attachmentId = resources.ids.next();
  const key = `attachments/${ch}/${attachmentId}-0000000000000000/late.png`;
  await sql`INSERT INTO messages (id, channel_id, author_id, content) VALUES (${messageId}, ${ch}, ${guild.owner.user.id}, 'late')`;
  await sql`INSERT INTO attachments (id, message_id, filename, storage_key, content_type, size)
    VALUES (${attachmentId}, ${messageId}, 'late.png', ${key}, 'image/png', 100)`;
  return { messageId, key };
}

t.test('a missing object fails the attempt; the retry after it appears succeeds', async (t) => {
  const socket = await channelSocket(guild, member, t);
  const { messageId, key } = await messageWithMissingObject();
  const failed = outcome(messageId, 'failed');
  const completed = outcome(messageId, 'completed');
  const updated = nextEvent(socket, 'message_updated', { filter: (m) => m.id === messageId, timeoutMs: 8000 });
  await resources.jobs.enqueue('process-attachments', { messageId }, { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
  const first = await failed;
  t.match(first.failedReason, /does not exist/, 'the first attempt failed');
  t.equal((await attachmentRows(messageId))[0]!.processed_at, null, 'nothing recorded');
  await resources.storage.put(key, await sharp({ create: { width: 50, height: 20, channels: 4, background: '#fff0' } }).png().toBuffer(), 'image/png');
  const job = await completed;
  t.equal(job.attemptsMade, 2, 'done on the retry');
  t.match((await updated).attachments[0], { width: 50, height: 20, content_type: 'image/png' });
});

t.test('an object that never appears is not retried forever', async (t) => {
  const { messageId } = await messageWithMissingObject();
  let failures = 0;
  const count = (job: Job | undefined) => {
    if (job?.data.messageId === messageId) failures += 1;
  };
  worker.worker.on('failed', count);
  t.teardown(() => { worker.worker.off('failed', count); });
  const last = new Promise<Job>((resolve) => {
    const listener = (job: Job | undefined) => {
      if (job?.data.messageId === messageId && job.attemptsMade >= 2) {
        worker.worker.off('failed', listener);
        resolve(job);
      }
    };
    worker.worker.on('failed', listener);
  });
  await resources.jobs.enqueue('process-attachments', { messageId }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
  const job = await last;
  t.equal(await job.getState(), 'failed', 'failed for good after its attempts');
  t.equal(failures, 2);
  t.equal((await attachmentRows(messageId))[0]!.processed_at, null);
});

t.test('a deleted message is a no-op', async (t) => {
  const sent = await sendFiles(ch, guild.owner, [['file', Buffer.from('x'), 'x.txt', 'text/plain']]);
  // Deleted before the worker gets to it: remove the row directly, then run the job for it.
  await sql`DELETE FROM messages WHERE id = ${sent.id}`;
  const done = outcome(sent.id, 'completed');
  await resources.jobs.enqueue('process-attachments', { messageId: sent.id });
  await done;
  t.pass('completed without error');
});

t.test('images libvips refuses are recorded without size, on the first attempt', async (t) => {
  const bomb = await claimedPng(30_000, 30_000);
  t.ok(30_000 * 30_000 > MAX_PIXELS, 'the claimed size is past the pixel limit');
  const corrupt = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]);
  const sent = await sendFiles(ch, guild.owner, [
    ['file', bomb, 'bomb.png', 'image/png'],
    ['file', corrupt, 'corrupt.png', 'image/png'],
  ]);
  const job = await outcome(sent.id, 'completed');
  t.equal(job.attemptsMade, 1, 'done on the first attempt, no retry');
  const rows = await attachmentRows(sent.id);
  for (const row of rows) {
    t.ok(row.processed_at, 'processed');
    t.equal(row.width, null);
    t.equal(row.thumbnail_key, null);
    t.equal(row.content_type, 'image/png');
  }
});

t.test('a DM\'s processed attachment reaches its participants as dm_message_updated, and nobody as message_updated', async (t) => {
  const [a, b, outsider] = [await env.register('a'), await env.register('b'), await env.register('x')];
  const opened = await env.request('POST', '/api/dm', { cookie: a.cookie, json: { recipientId: b.user.id } });
  const dmId = opened.body.id as string;
  const [sa, sb, so] = [await env.connect(a.cookie), await env.connect(b.cookie), await env.connect(outsider.cookie)];
  t.teardown(() => [sa, sb, so].forEach((s) => s.close()));
  const channelEvents = [record(sa, 'message_updated'), record(sb, 'message_updated')];
  const outsiderSaw = record(so, 'dm_message_updated');
  const image = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#00ff00' } }).png().toBuffer();
  const res = await env.request('POST', `/api/dm/${dmId}/messages`, { cookie: a.cookie, ...(await multipart([['file', image, 'dot.png', 'image/png']])) });
  t.equal(res.status, 201);
  const toA = nextEvent(sa, 'dm_message_updated', { filter: (m) => m.id === res.body.id, timeoutMs: 8000 });
  const toB = nextEvent(sb, 'dm_message_updated', { filter: (m) => m.id === res.body.id, timeoutMs: 8000 });
  const [fromA, fromB] = await Promise.all([toA, toB]);
  t.match(fromB, { dm_id: dmId, sender_id: a.user.id, type: 'dm' });
  t.match(fromB.attachments[0], { content_type: 'image/png', width: 40, height: 20 });
  t.same(fromA, fromB);
  await env.flush(sa, a.user.id);
  await env.flush(sb, b.user.id);
  await env.flush(so, outsider.user.id);
  t.same(channelEvents, [[], []], 'no channel-room event for a DM message');
  t.same(outsiderSaw, [], 'the outsider hears nothing');
});
