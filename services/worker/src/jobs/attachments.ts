// Owns the process-attachments job: for each unprocessed attachment of a message, sniff the real
// type from its first bytes, and for images read the dimensions and store a webp thumbnail next to
// the original; record it all in one UPDATE, then send the full Message Object as message_updated
// (dm_message_updated to the participants for a DM's, shared/message-events.ts).
// Idempotent: processed rows are skipped, the thumbnail key is fixed (a retry overwrites it), a
// deleted message has nothing to process. A missing object or an S3 failure throws, so BullMQ
// retries with backoff up to the job's attempts (jobs.ts) and then gives up; an image sharp cannot
// read (corrupt, or past the pixel limit) is recorded without dimensions, not retried.
import { posix } from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Metadata } from 'sharp';
import type { JobPayloads } from '@nexusguild/shared/jobs';
import { messageEvents } from '@nexusguild/shared/message-events';
import { attachmentsRepo, type AttachmentFacts, type PendingAttachment } from '@nexusguild/shared/repos/attachments';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import type { Storage } from '@nexusguild/shared/storage';
import type { WorkerDeps } from '../app.ts';

/** Bytes read for sniffing: what file-type needs for the formats it knows. */
const SNIFF_BYTES = 4100;
/** Longer side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 400;
/** Images beyond this many pixels are not decoded (a decompression bomb fails cleanly). */
export const MAX_PIXELS = 50_000_000;
/** Formats sharp decodes that get dimensions and a thumbnail. */
const IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/tiff']);

// The box has two cores shared with the API and the gateway: one libvips thread per image, and no
// operation cache (each image is seen once, so the cache would only hold memory).
sharp.concurrency(1);
sharp.cache(false);

/** Where an attachment's thumbnail lives: next to the original, under a name uploads never produce (safeName strips a leading "_"). */
export const thumbnailKey = (key: string) => `${posix.dirname(key)}/_thumb.webp`;

/** Dimensions (as displayed, EXIF rotation applied) and a thumbnail, streamed from S3 into sharp. */
async function imageFacts(storage: Storage, a: PendingAttachment): Promise<Pick<AttachmentFacts, 'width' | 'height' | 'thumbnailKey'>> {
  const object = await storage.get(a.storage_key);
  if (!object) throw new Error(`object ${a.storage_key} does not exist (yet)`);
  const input = sharp({ limitInputPixels: MAX_PIXELS, failOn: 'error' });
  const metadata = input.clone().metadata();
  const thumbnail = input.clone().rotate().resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 }).toBuffer();
  let readFailed: Error | null = null;
  object.body.on('error', (err) => {
    readFailed = err;
    input.destroy(err);
  });
  object.body.pipe(input);
  let meta: Metadata;
  let thumb: Buffer;
  try {
    [meta, thumb] = await Promise.all([metadata, thumbnail]);
  } catch {
    object.body.destroy();
    // A failed read from S3 is worth a retry; an image libvips refuses is not.
    if (readFailed) throw readFailed;
    return { width: null, height: null, thumbnailKey: null };
  }
  const rotated = (meta.orientation ?? 1) >= 5;
  const key = thumbnailKey(a.storage_key);
  await storage.put(key, thumb, 'image/webp');
  return { width: (rotated ? meta.height : meta.width) ?? null, height: (rotated ? meta.width : meta.height) ?? null, thumbnailKey: key };
}

async function facts(storage: Storage, a: PendingAttachment): Promise<AttachmentFacts> {
  const start = await storage.readStart(a.storage_key, SNIFF_BYTES);
  if (!start) throw new Error(`object ${a.storage_key} does not exist (yet)`);
  const sniffed = (await fileTypeFromBuffer(start))?.mime ?? null;
  if (!sniffed || !IMAGES.has(sniffed)) return { contentType: sniffed, width: null, height: null, thumbnailKey: null };
  return { contentType: sniffed, ...(await imageFacts(storage, a)) };
}

export async function processAttachments({ messageId }: JobPayloads['process-attachments'], { sql, storage, publisher }: WorkerDeps): Promise<void> {
  const repo = attachmentsRepo(sql);
  let changed = false;
  for (const a of await repo.unprocessed(messageId)) {
    changed = (await repo.processed(a.id, await facts(storage, a))) || changed;
  }
  if (!changed) return; // nothing was pending (done before, or the message is gone)
  const message = await messagesRepo(sql).one(messageId);
  // A server channel's room hears message_updated, a DM's participants dm_message_updated.
  if (message) await messageEvents(sql, publisher).updated(message);
}
