import { Type } from '@fastify/type-provider-typebox';
import { Id, Invite, Member, MessageBody, PermissionString, Server, ServerParams, errors } from '../../schemas.ts';

const tags = ['servers'];
const Name = Type.String({ minLength: 1, maxLength: 100 });
/** An uploaded icon's path on our origin, or an https URL; never a script-capable scheme. */
const Icon = Type.Union([Type.String({ maxLength: 255, pattern: '^(/uploads/|https://)[^\\s"\'<>\\\\]+$' }), Type.Null()]);

export const list = { tags, response: { 200: Type.Array(Server), ...errors(401) } };

export const create = {
  tags,
  body: Type.Object({ name: Name, icon: Type.Optional(Icon) }),
  response: { 201: Server, ...errors(400, 401) },
};

export const get = { tags, params: ServerParams, response: { 200: Server, ...errors(400, 401, 403, 404) } };

export const update = {
  tags,
  params: ServerParams,
  body: Type.Object({ name: Type.Optional(Name), icon: Type.Optional(Icon) }, { minProperties: 1 }),
  response: { 200: Server, ...errors(400, 401, 403, 404) },
};

export const remove = { tags, params: ServerParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

export const join = {
  tags,
  body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9]+$' }) }),
  response: { 200: Server, ...errors(400, 401, 403, 404) },
};

export const leave = { tags, params: ServerParams, response: { 200: MessageBody, ...errors(400, 401, 403, 404) } };

/** Members per reply: the member list is not paginated by the guide, so it is capped. */
export const MEMBER_LIMIT = 1000;

export const members = {
  tags,
  params: ServerParams,
  querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MEMBER_LIMIT })) }),
  response: {
    200: Type.Object({ members: Type.Array(Member), myPermissions: PermissionString }),
    ...errors(400, 401, 403, 404),
  },
};

export const invites = { tags, params: ServerParams, response: { 200: Type.Array(Invite), ...errors(400, 401, 403, 404) } };

export const createInvite = {
  tags,
  params: ServerParams,
  body: Type.Object({
    /** 0 = unlimited. */
    maxUses: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    /** Seconds until it expires; 0 or null = never. At most a year. */
    expiresIn: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 365 * 86_400 }), Type.Null()])),
  }),
  response: { 201: Invite, ...errors(400, 401, 403, 404) },
};

export const revokeInvite = {
  tags,
  params: Type.Object({ id: Id, code: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9]+$' }) }),
  response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
};
