// Owns the steps a message write shares wherever the message lives (server channels, threads,
// forum posts, DMs and group DMs): reading a send (a JSON body, or multipart with its files
// streamed to S3), checking its text and reply target, writing the message and its attachments in
// one statement, and reading it back as the one Message Object. Routes add their own
// access checks and events around these.
import type { Db } from '@nexusguild/shared/db/index';
import { isId } from '@nexusguild/shared/ids';
import { MAX_CONTENT, mentionsEveryone } from '@nexusguild/shared/messages';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import type { MessageObject } from '@nexusguild/shared/wire';
import type { FastifyRequest } from 'fastify';
import type { ApiDeps } from './app.ts';
import { badRequest, notFound } from './errors.ts';
import { FILE_FIELDS, MAX_FILES, PAGE } from './routes/messages/schema.ts';
import { receiveUpload, type ReceivedUpload, type StoredUpload } from './uploads.ts';

/** What a send carries once read and checked. */
export interface MessageInput {
  content: string;
  replyToId: string | null;
  files: StoredUpload[];
}

/** Where a message is written: its channel, and the server whose members it may mention (none for a DM). */
export interface MessageTarget {
  id: string;
  server_id: string | null;
}

/** A page size within bounds (decisions, Pagination: clamped, not refused). */
export function clampLimit(limit: number | undefined): number {
  return Math.min(PAGE.max, Math.max(PAGE.min, limit ?? PAGE.default));
}

/** Text after trimming: at most 2000 characters; empty only when `allowEmpty` (files attached). */
export function checkedContent(raw: string | undefined, allowEmpty: boolean): string {
  const content = (raw ?? '').trim();
  if (!content && !allowEmpty) throw badRequest('Message must have content or attachments', [{ field: 'content', message: 'is empty' }]);
  if ([...content].length > MAX_CONTENT) {
    throw badRequest(`Message content must be at most ${MAX_CONTENT} characters`, [{ field: 'content', message: `is longer than ${MAX_CONTENT} characters` }]);
  }
  return content;
}

/** The reply target under either spelling (decisions, Field aliases); empty means none. */
function replyTarget(fields: Record<string, unknown>): string | null {
  const value = fields.replyTo ?? fields.replyToId ?? null;
  if (value === null || value === '') return null;
  if (!isId(value)) throw badRequest('replyTo must be a message id', [{ field: 'replyTo', message: 'is not an id' }]);
  return value;
}

export function messageComposer({ sql, ids, storage, config }: Pick<ApiDeps, 'sql' | 'ids' | 'storage' | 'config'>) {
  return {
    /**
     * The send's fields and files: multipart (files stream to S3 under `attachments/<folder>/`,
     * each first passed to `accept`, which throws to refuse) or a JSON body (text only).
     */
    async readForm(request: FastifyRequest, folder: string, accept?: () => void): Promise<ReceivedUpload> {
      if (!request.isMultipart()) {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const fields = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
        return { fields, files: [] };
      }
      return receiveUpload(request, { storage, ids }, {
        fileFields: FILE_FIELDS,
        maxFiles: MAX_FILES,
        maxFileBytes: config.maxUploadBytes,
        keyPrefix: `attachments/${folder}`,
        accept,
      });
    },

    /** The send's text and reply target, checked. */
    input(form: ReceivedUpload): MessageInput {
      return { content: checkedContent(form.fields.content, form.files.length > 0), replyToId: replyTarget(form.fields), files: form.files };
    },

    /**
     * Writes a message and its attachments (one statement, so no transaction is held across the
     * round trips); mentions resolve against the server's members (a DM has none to resolve).
     */
    async write(db: Db, target: MessageTarget, authorId: string, input: MessageInput): Promise<string> {
      const repo = messagesRepo(db);
      const id = ids.next();
      const serverId = target.server_id;
      const written = await repo.create({
        id, channelId: target.id, authorId, content: input.content, replyToId: input.replyToId,
        mentionEveryone: serverId !== null && mentionsEveryone(input.content),
        mentions: serverId !== null ? await repo.mentionedMembers(serverId, input.content) : [],
      }, input.files.map((f) => ({ id: f.id, filename: f.filename, storageKey: f.key, contentType: f.contentType, size: f.size })));
      if (written === 'no-channel') throw notFound('Channel');
      if (written === 'bad-reply') {
        throw badRequest('replyTo must be a message in this channel', [{ field: 'replyTo', message: 'is not a message of this channel' }]);
      }
      return id;
    },

    async loadOne(id: string): Promise<MessageObject> {
      const message = await messagesRepo(sql).one(id);
      if (!message) throw notFound('Message'); // deleted between commit and read
      return message;
    },
  };
}
