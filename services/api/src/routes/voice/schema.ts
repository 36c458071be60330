import { Type } from '@fastify/type-provider-typebox';
import { Id, errors } from '../../schemas.ts';

const tags = ['voice'];

export const token = {
  tags,
  params: Type.Object({ channelId: Id }),
  response: { 200: Type.Object({ token: Type.String(), url: Type.String(), channelId: Id }), ...errors(400, 401, 403, 404, 503) },
};

export const dmToken = {
  tags,
  params: Type.Object({ dmId: Id }),
  response: { 200: Type.Object({ token: Type.String(), url: Type.String(), dmId: Id }), ...errors(400, 401, 403, 404, 503) },
};

export const webhook = {
  tags,
  // The raw body (a string): its signature covers the exact bytes.
  response: { 200: Type.Object({ ok: Type.Boolean() }), ...errors(400, 401, 503) },
};
