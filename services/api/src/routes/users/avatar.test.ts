// Avatar upload end to end against a real API, Postgres, S3 server and worker: refusals (no file,
// not an image, too large, not multipart), then a real image shows at once and the worker's
// process-avatar job replaces it with a 256×256 PNG and removes the original; a file that only
// claims to be an image ends with no avatar; a new upload removes the previous one.
import t from 'tap';
import type { Job } from 'bullmq';
import sharp from 'sharp';
import { startWorker } from '@nexusguild/worker';
import { assertError, multipart, setup, type Part, type TestEnv } from '../../../../../test/harness.ts';

const env: TestEnv = await setup(t);
const { resources } = env;
const worker = startWorker(resources);
t.teardown(() => worker.close());

async function upload(cookie: string | undefined, parts: Part[]) {
  return env.request('POST', '/api/users/me/avatar', { cookie, ...(await multipart(parts)) });
}

/** Resolves when the worker completes the next `name` job (rejects when one fails). */
function avatarProcessed(name = 'process-avatar'): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (job: Job) => {
      if (job.name !== name) return;
      worker.worker.off('completed', done);
      worker.worker.off('failed', failed);
      resolve();
    };
    const failed = (job: Job | undefined, err: Error) => {
      if (job?.name !== name) return;
      worker.worker.off('completed', done);
      worker.worker.off('failed', failed);
      reject(err);
    };
    worker.worker.on('completed', done);
    worker.worker.on('failed', failed);
  });
}

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 1 } } }).png().toBuffer();

const me = async (cookie: string) => (await env.request('GET', '/api/auth/me', { cookie })).body;

t.test('refusals', async (t) => {
  const { cookie } = await env.register('refuse');
  assertError(t, await upload(undefined, [['file', await png(10, 10), 'a.png', 'image/png']]), 401);
  assertError(t, await upload(cookie, [['note', 'hello']]), 400, 'No file uploaded');
  assertError(t, await upload(cookie, [['file', Buffer.from('hello'), 'a.txt', 'text/plain']]), 415, /image/);
  assertError(t, await upload(cookie, [['other', await png(10, 10), 'a.png', 'image/png']]), 400, /Unexpected field/);
  assertError(t, await upload(cookie, [['file', Buffer.alloc(8 * 1024 * 1024 + 1), 'big.png', 'image/png']]), 413);
  assertError(t, await env.request('POST', '/api/users/me/avatar', { cookie, json: { file: 'x' } }), 415, undefined, 'JSON is not an upload');
  t.equal((await me(cookie)).avatar, null, 'no avatar was set');
});

t.test('an image: shown at once, then resized by the worker', async (t) => {
  const { user, cookie } = await env.register('avatar');
  const processed = avatarProcessed();
  const res = await upload(cookie, [['file', await png(600, 300), 'me.png', 'image/png']]);
  t.equal(res.status, 200);
  t.equal(res.body.id, user.id, 'the user object');
  t.match(res.body.avatar, new RegExp(`^/uploads/avatars/${user.id}/\\d+-[0-9a-f]{16}/me\\.png$`));
  const original = res.body.avatar as string;
  t.equal((await env.request('GET', original)).status, 200, 'the original is served meanwhile');

  await processed;
  const resized = (await me(cookie)).avatar as string;
  t.equal(resized, original.replace(/me\.png$/, 'avatar-256.png'), 'users.avatar now points at the resized object');
  const served = await env.request('GET', resized);
  t.equal(served.status, 200);
  t.equal(served.headers['content-type'], 'image/png');
  const object = await resources.storage.get(resized.slice('/uploads/'.length));
  const bytes = Buffer.concat(await object!.body.toArray());
  t.match(await sharp(bytes).metadata(), { width: 256, height: 256, format: 'png' }, 'a 256×256 PNG');
  t.equal(await resources.storage.get(original.slice('/uploads/'.length)), null, 'the original is removed');

  // A second upload replaces it, and the first avatar's object goes.
  const processedAgain = avatarProcessed();
  const removed = avatarProcessed('delete-objects');
  const second = await upload(cookie, [['file', await png(64, 64), 'again.png', 'image/png']]);
  t.equal(second.status, 200);
  await Promise.all([processedAgain, removed]);
  t.equal(await resources.storage.get(resized.slice('/uploads/'.length)), null, 'the previous avatar\'s object is removed');
  t.match((await me(cookie)).avatar, /^\/uploads\/avatars\/.+\/avatar-256\.png$/, 'the new one, resized');
  t.not((await me(cookie)).avatar, resized);
});

t.test('a file that only claims to be an image ends with no avatar', async (t) => {
  const { cookie } = await env.register('fake');
  const processed = avatarProcessed();
  const res = await upload(cookie, [['file', Buffer.from('definitely not a png'), 'fake.png', 'image/png']]);
  t.equal(res.status, 200);
  const stored = res.body.avatar as string;
  await processed;
  t.equal((await me(cookie)).avatar, null, 'cleared');
  t.equal(await resources.storage.get(stored.slice('/uploads/'.length)), null, 'and removed');
});
