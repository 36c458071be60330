// A server's custom emoji: list (members), upload and delete (MANAGE_GUILD_EXPRESSIONS). The image
// streams to S3 through uploads.ts; its first bytes are then read back and must be a png, jpeg,
// gif or webp whatever the client declared. Each change emits server_emojis_updated to the server.
import { rooms } from '@nexusguild/shared/events';
import { Flags } from '@nexusguild/shared/permissions';
import { emojisRepo } from '@nexusguild/shared/repos/emojis';
import type { App, ApiDeps } from '../../app.ts';
import { badRequest, conflict, notFound, unsupportedType } from '../../errors.ts';
import { guards } from '../../guards.ts';
import { removeObjects } from '../../jobs.ts';
import { presentEmoji } from '../../present.ts';
import { IMAGE_TYPES, receiveUpload, withUploads, type StoredUpload } from '../../uploads.ts';
import * as schema from './schema.ts';

const TYPE_ERROR = 'Only image files are allowed for emoji (jpeg, jpg, png, gif, webp)';

/** The image type the bytes start with (magic numbers), or null. */
export function sniffImage(head: Buffer): string | null {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return null;
}

export async function emojiRoutes(app: App, { sql, ids, storage, publisher, jobs }: ApiDeps) {
  const guard = guards(sql);
  const emojis = emojisRepo(sql);
  const full = () => badRequest(`A server can have at most ${schema.MAX_PER_SERVER} custom emoji`);

  app.get('/api/servers/:serverId/emojis', { schema: schema.list }, async (request) => {
    const { server } = await guard.member(request.params.serverId, request.user.id);
    return (await emojis.list(server.id)).map(presentEmoji);
  });

  app.post('/api/servers/:serverId/emojis', { schema: schema.create }, async (request, reply) => {
    const { server } = await guard.member(request.params.serverId, request.user.id, Flags.MANAGE_GUILD_EXPRESSIONS);
    // Refused before the upload is read when the server is already full (checked again under the lock).
    if ((await emojis.count(server.id)) >= schema.MAX_PER_SERVER) throw full();
    const form = await receiveUpload(request, { storage, ids }, {
      fileFields: schema.FILE_FIELDS,
      maxFiles: 1,
      maxFileBytes: schema.MAX_BYTES,
      keyPrefix: `emojis/${server.id}`,
      maxFields: 5,
      maxFieldBytes: 1024,
      // The declared type is what S3 serves the object as, so it must be an image type too.
      accept: ({ contentType }) => {
        if (!IMAGE_TYPES.has(contentType)) throw unsupportedType(TYPE_ERROR);
      },
    });
    const file: StoredUpload | undefined = form.files[0];
    const row = await withUploads(storage, form.files, async () => {
      const name = form.fields.name?.trim();
      if (!name) throw badRequest('Emoji name is required', [{ field: 'name', message: 'is required' }]);
      if (!schema.NAME.test(name)) {
        throw badRequest('Emoji name must be 2-32 letters, digits or underscores', [{ field: 'name', message: 'must match ^[A-Za-z0-9_]{2,32}$' }]);
      }
      if (!file) throw badRequest('Emoji image is required', [{ field: 'emoji', message: 'is required' }]);
      const sniffed = sniffImage((await storage.readStart(file.key, 16)) ?? Buffer.alloc(0));
      if (!sniffed) throw unsupportedType(TYPE_ERROR);
      return sql.begin(async (tx) => {
        const repo = emojisRepo(tx);
        await repo.lockServer(server.id); // concurrent uploads cannot both take the 50th place
        if ((await repo.count(server.id)) >= schema.MAX_PER_SERVER) throw full();
        const created = await repo.create({
          id: file.id, serverId: server.id, name, storageKey: file.key, contentType: sniffed, createdBy: request.user.id,
        });
        if (!created) throw conflict('An emoji with this name already exists in this server');
        return created;
      });
    });
    publisher.emit(rooms.server(server.id), 'server_emojis_updated', { serverId: server.id });
    return reply.status(201).send(presentEmoji(row));
  });

  app.delete('/api/servers/:serverId/emojis/:emojiId', { schema: schema.remove }, async (request, reply) => {
    const { server } = await guard.member(request.params.serverId, request.user.id, Flags.MANAGE_GUILD_EXPRESSIONS);
    const removed = await emojis.remove(server.id, request.params.emojiId);
    if (!removed) throw notFound('Emoji');
    publisher.emit(rooms.server(server.id), 'server_emojis_updated', { serverId: server.id });
    await removeObjects(jobs, [removed.storage_key], request.log);
    return reply.status(204).send(null);
  });
}
