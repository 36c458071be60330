// Owns receiving multipart uploads for every route that takes files (message attachments, DM
// attachments, custom emoji, avatars): each file part streams straight to S3 as it arrives (never
// a whole file in memory), text fields are collected whether they come before or after the files,
// and the limits (size per file, file count, field sizes) answer 413. On any failure midway (too
// large, too many, a refused type, the client going away, S3 failing) the objects already stored
// are removed before the error is thrown, so a failed upload leaves nothing behind. Rows are the
// caller's: write them after this resolves, and call `discardUploads` if that write fails.
import { randomBytes } from 'node:crypto';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { IdGenerator } from '@nexusguild/shared/ids';
import type { Storage } from '@nexusguild/shared/storage';
import { HttpError, badRequest, tooLarge, unavailable, unsupportedType } from './errors.ts';

export interface UploadOptions {
  /** Field names that may carry files (e.g. ['file', 'files']); a file under any other is a 400. */
  fileFields: readonly string[];
  /** At most this many files (413 beyond). */
  maxFiles: number;
  /** Bytes per file (413 beyond). */
  maxFileBytes: number;
  /**
   * Objects are stored at `<keyPrefix>/<snowflake>-<16 random hex>/<safe file name>`: the random
   * part makes keys unguessable, which is what keeps the public /uploads route private enough.
   */
  keyPrefix: string;
  /** Called before each file is stored; throw an HttpError (403, 415...) to refuse it. */
  accept?: (file: { fieldname: string; filename: string; contentType: string }) => void;
  /** Text fields: how many (default 20) and bytes each (default 16 KiB). */
  maxFields?: number;
  maxFieldBytes?: number;
}

export interface StoredUpload {
  /** A fresh snowflake, also part of the key: use it as the row's id. */
  id: string;
  key: string;
  /** The client's file name without any path (at most 255 characters). */
  filename: string;
  /** The client's declared type (`type/subtype`, lower-case), application/octet-stream when absent or malformed. */
  contentType: string;
  size: number;
}

export interface ReceivedUpload {
  /** Text fields by name; the first value wins when a name repeats. */
  fields: Record<string, string>;
  files: StoredUpload[];
}

const DEFAULT_MAX_FIELDS = 20;
const DEFAULT_MAX_FIELD_BYTES = 16 * 1024;
/** Room for the multipart framing and text fields around the files when checking Content-Length. */
const FRAMING_BYTES = 1024 * 1024;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/** The client's name for a file, without any directory part. */
export function originalName(name: string | undefined): string {
  const base = (name ?? '').split(/[/\\]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return (base || 'file').slice(0, 255);
}

/** A name that is safe in a URL path and an object key: [A-Za-z0-9._-], no leading dot, at most 100 characters. */
export function safeName(name: string): string {
  const cleaned = name.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  if (!cleaned) return 'file';
  if (cleaned.length <= 100) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : '';
  return cleaned.slice(0, 100 - ext.length) + ext;
}

function declaredType(mimetype: string | undefined): string {
  const type = (mimetype ?? '').split(';')[0]!.trim().toLowerCase();
  return MIME.test(type) && type.length <= 255 ? type : 'application/octet-stream';
}

/** Counts the bytes passing through and fails with a 413 past `max`. */
function byteCounter(max: number) {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      size += chunk.length;
      if (size > max) return callback(tooLarge(`File too large. Max size: ${formatBytes(max)}`));
      callback(null, chunk);
    },
  });
  return { stream: counter, size: () => size };
}

export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : bytes >= 1024 && Number.isInteger(bytes / 1024) ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/** Removes stored uploads (after a later step failed); never throws, the objects are then only orphans. */
export async function discardUploads(storage: Storage, files: readonly StoredUpload[]): Promise<void> {
  if (files.length) await storage.remove(files.map((f) => f.key)).catch(() => {});
}

/**
 * Runs `write` (checks and the transaction) with stored uploads; if it fails, the objects go too
 * (no object without its row). What committed keeps its files.
 */
export async function withUploads<T>(storage: Storage, files: readonly StoredUpload[], write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    await discardUploads(storage, files);
    throw err;
  }
}

/** The raster image types avatars and custom emoji may be (decisions, Limits). */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * An error from receiving, as the client should hear it: our own HttpErrors as they are,
 * @fastify/multipart's limit and parse errors with their 4xx, and anything else the parser threw
 * (a missing boundary, a broken body) as a 400. Storage failures were made 503s where they happened.
 */
function asClientError(err: unknown, request: FastifyRequest): Error {
  if (err instanceof HttpError) return err;
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, status === 413 ? tooManyMessage(err) : (err as Error).message);
  }
  if (request.raw.destroyed) return badRequest('Upload aborted');
  return badRequest('Malformed multipart/form-data body');
}

/** Why a put failed: the upload stream's own error (too large, the client went away), else S3's (a 503). */
function putFailure(source: NodeJS.ReadableStream & { errored?: Error | null }, counted: { errored?: Error | null }, request: FastifyRequest): Error {
  const cause = counted.errored ?? source.errored;
  if (cause) return cause;
  if (request.raw.destroyed) return badRequest('Upload aborted');
  return unavailable('File storage is temporarily unavailable');
}

function tooManyMessage(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'FST_FILES_LIMIT') return 'Too many files';
  if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') return 'Too many form fields';
  return (err as Error).message;
}

/**
 * Reads a multipart/form-data request: stores each file under `options.keyPrefix` as it streams
 * in and returns the text fields and the stored files. Throws an HttpError (400, 403, 413, 415,
 * or 503 when S3 fails) after removing whatever it had stored.
 */
export async function receiveUpload(
  request: FastifyRequest, deps: { storage: Storage; ids: IdGenerator }, options: UploadOptions,
): Promise<ReceivedUpload> {
  if (!request.isMultipart()) throw unsupportedType('Expected multipart/form-data');
  const { storage, ids } = deps;
  const maxFields = options.maxFields ?? DEFAULT_MAX_FIELDS;
  const maxFieldBytes = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > options.maxFiles * options.maxFileBytes + FRAMING_BYTES) {
    throw tooLarge(`Upload too large. Max ${options.maxFiles} files of ${formatBytes(options.maxFileBytes)} each`);
  }

  const fields: Record<string, string> = {};
  const files: StoredUpload[] = [];
  try {
    const parts = request.parts({
      // busboy truncates one byte past the limit, so the counter below always sees the excess.
      limits: { fileSize: options.maxFileBytes + 1, files: options.maxFiles, fields: maxFields, fieldSize: maxFieldBytes, parts: options.maxFiles + maxFields },
    });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.valueTruncated) throw tooLarge(`Field ${part.fieldname} is too large`);
        if (typeof part.value === 'string' && !Object.hasOwn(fields, part.fieldname)) fields[part.fieldname] = part.value;
        continue;
      }
      const file = part;
      if (!file.filename) {
        // What a browser sends for a file input left empty: no file at all.
        file.file.resume();
        continue;
      }
      if (!options.fileFields.includes(file.fieldname)) {
        file.file.resume();
        throw badRequest(`Unexpected field name "${file.fieldname}": files go in ${options.fileFields.join(' or ')}`);
      }
      const filename = originalName(file.filename);
      const contentType = declaredType(file.mimetype);
      try {
        options.accept?.({ fieldname: file.fieldname, filename, contentType });
      } catch (err) {
        file.file.resume();
        throw err;
      }
      const id = ids.next();
      const key = `${options.keyPrefix}/${id}-${randomBytes(8).toString('hex')}/${safeName(filename)}`;
      const counter = byteCounter(options.maxFileBytes);
      // The file stream feeds S3 through the counter; an error on either side (limit, abort)
      // destroys both, which fails the put.
      pipeline(file.file, counter.stream, () => {});
      // Recorded before the put resolves, so a put that fails after writing is removed too.
      const stored: StoredUpload = { id, key, filename, contentType, size: 0 };
      files.push(stored);
      try {
        await storage.put(key, counter.stream, contentType);
      } catch {
        throw putFailure(file.file, counter.stream, request);
      }
      stored.size = counter.size();
    }
    return { fields, files };
  } catch (err) {
    await discardUploads(storage, files);
    throw asClientError(err, request);
  }
}
