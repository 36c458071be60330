// Owns object storage: one S3 client (real S3, MinIO or the embedded server all look the same)
// and the key layout. Uploads stream through; nothing here holds a whole file in memory.
import {
  CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import type { Config } from './config.ts';

export interface StoredObject {
  body: Readable;
  contentType: string;
  contentLength: number;
  etag: string | undefined;
  contentRange: string | undefined;
}

export interface Storage {
  bucket: string;
  ensureBucket(): Promise<void>;
  /** Streams `body` to `key`; resolves once the object is durable. */
  put(key: string, body: Readable | Buffer, contentType: string): Promise<void>;
  /** Reads an object, or a byte range of it ("bytes=0-99"); null when it does not exist. */
  get(key: string, range?: string): Promise<StoredObject | null>;
  /** Up to the first `bytes` bytes of an object (to sniff its type); null when it does not exist. */
  readStart(key: string, bytes: number): Promise<Buffer | null>;
  /** An object's size, type and ETag without its body; null when it does not exist. */
  head(key: string): Promise<Omit<StoredObject, 'body' | 'contentRange'> | null>;
  remove(keys: string[]): Promise<void>;
  ping(): Promise<void>;
  close(): void;
}

/** Every stored object is served by the API under this path (decisions: relative URLs). */
export const uploadUrl = (key: string) => `/uploads/${key}`;

// We pin exact SDK versions that support Node 20; its notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function createStorage(s3: Config['s3'] & { endpoint: string }): Storage {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Without these, streamed uploads to S3-compatible servers are stored with checksum framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = s3.bucket;
  const storage: Storage = {
    bucket: Bucket,
    async ensureBucket() {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch {
        await client.send(new CreateBucketCommand({ Bucket })).catch((err: { name?: string }) => {
          if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
        });
      }
    },
    async put(key, body, contentType) {
      await new Upload({ client, params: { Bucket, Key: key, Body: body, ContentType: contentType } }).done();
    },
    async get(key, range) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: key, Range: range }));
        return {
          body: res.Body as Readable,
          contentType: res.ContentType ?? 'application/octet-stream',
          contentLength: res.ContentLength ?? 0,
          etag: res.ETag,
          contentRange: res.ContentRange,
        };
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === 'NoSuchKey' || name === 'NotFound') return null;
        throw err;
      }
    },
    async readStart(key, bytes) {
      const object = await storage.get(key, `bytes=0-${bytes - 1}`);
      return object && Buffer.concat(await object.body.toArray()).subarray(0, bytes);
    },
    async head(key) {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { contentType: res.ContentType ?? 'application/octet-stream', contentLength: res.ContentLength ?? 0, etag: res.ETag };
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === 'NoSuchKey' || name === 'NotFound') return null;
        throw err;
      }
    },
    async remove(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }));
      }
    },
    async ping() {
      await client.send(new HeadBucketCommand({ Bucket }));
    },
    close() {
      client.destroy();
    },
  };
  return storage;
}
