import { Type } from '@fastify/type-provider-typebox';
import { Ban, Id, ServerParams, errors } from '../../schemas.ts';

const tags = ['moderation'];
const MemberParams = Type.Object({ id: Id, userId: Id });

export const kick = { tags, params: MemberParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

export const ban = {
  tags,
  params: MemberParams,
  body: Type.Object({ reason: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])) }),
  response: { 201: Ban, ...errors(400, 401, 403, 404) },
};

export const unban = { tags, params: MemberParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

export const bans = { tags, params: ServerParams, response: { 200: Type.Array(Ban), ...errors(400, 401, 403, 404) } };
