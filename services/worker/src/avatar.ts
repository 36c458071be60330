// Owns avatar processing (job `process-avatar`): the uploaded original becomes a square
// AVATAR_SIZE PNG beside it, users.avatar moves from the original's URL to it, and the original is
// removed. If the user uploaded another avatar meanwhile, this one's objects are removed and the
// row is left alone; an upload that is not a decodable image clears the avatar it had set.
// Idempotent: a rerun after any step ends in the same state.
import sharp from 'sharp';
import { uploadUrl } from '@nexusguild/shared/storage';
import { usersRepo } from '@nexusguild/shared/repos/users';
import type { WorkerDeps } from './app.ts';

export const AVATAR_SIZE = 256;
/** Decoding bombs are refused: an 8 MiB file can claim a huge canvas. */
const MAX_INPUT_PIXELS = 40_000_000;

/** The resized object's key: beside the original, so it shares its unguessable folder. */
export const resizedKey = (key: string) => `${key.slice(0, key.lastIndexOf('/'))}/avatar-${AVATAR_SIZE}.png`;

export async function processAvatar({ userId, key }: { userId: string; key: string }, { storage, sql }: Pick<WorkerDeps, 'storage' | 'sql'>): Promise<void> {
  const original = await storage.get(key);
  if (!original) return; // already processed, or replaced and removed
  const input = Buffer.concat(await original.body.toArray());
  const png = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
    .rotate() // EXIF orientation
    .resize(AVATAR_SIZE, AVATAR_SIZE, { fit: 'cover' })
    .png()
    .toBuffer()
    .catch(() => null); // not an image sharp can read
  const resized = resizedKey(key);
  if (png) await storage.put(resized, png, 'image/png');
  const kept = await usersRepo(sql).replaceAvatar(userId, uploadUrl(key), png ? uploadUrl(resized) : null);
  await storage.remove(kept && png ? [key] : [key, resized]);
}
