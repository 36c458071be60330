import { Type } from '@fastify/type-provider-typebox';
import { Id, Timestamp, errors } from '../../schemas.ts';

const tags = ['emojis'];

/** Decisions, Limits: 256 KiB, png/jpeg/gif/webp, name ^[A-Za-z0-9_]{2,32}$, 50 per server. */
export const MAX_BYTES = 256 * 1024;
export const MAX_PER_SERVER = 50;
export const NAME = /^[A-Za-z0-9_]{2,32}$/;
/** Notes §3.5: the original's `emoji`, and the usual `file` / `image`. */
export const FILE_FIELDS = ['emoji', 'file', 'image'] as const;

export const Emoji = Type.Object({
  id: Id,
  server_id: Id,
  name: Type.String(),
  url: Type.String(),
  filename: Type.String(),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
});

const ServerParams = Type.Object({ serverId: Id });

export const list = { tags, params: ServerParams, response: { 200: Type.Array(Emoji), ...errors(400, 401, 403, 404) } };

export const create = {
  tags,
  params: ServerParams,
  description: 'multipart/form-data: `name` and the image under `emoji`, `file` or `image`',
  response: { 201: Emoji, ...errors(400, 401, 403, 404, 409, 413, 415) },
};

export const remove = {
  tags,
  params: Type.Object({ serverId: Id, emojiId: Id }),
  response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
};
