import { Type } from '@fastify/type-provider-typebox';
import { Id, PermissionInput, Role, ServerParams, errors } from '../../schemas.ts';

const tags = ['roles'];
/** Roles per server, @everyone included (Discord's limit); also bounds a reorder's body. */
export const MAX_ROLES = 250;
const Name = Type.String({ minLength: 1, maxLength: 100 });
const Color = Type.String({ pattern: '^#[0-9A-Fa-f]{6}$' });
const RoleParams = Type.Object({ id: Id, roleId: Id });
/** What a create or update may set; every field is optional. */
const roleFields = {
  name: Type.Optional(Name),
  color: Type.Optional(Color),
  permissions: Type.Optional(PermissionInput),
  hoist: Type.Optional(Type.Boolean()),
  mentionable: Type.Optional(Type.Boolean()),
};
const MemberRoleParams = Type.Object({ id: Id, userId: Id, roleId: Id });

export const list = { tags, params: ServerParams, response: { 200: Type.Array(Role), ...errors(400, 401, 403, 404) } };

export const create = {
  tags,
  params: ServerParams,
  body: Type.Object(roleFields),
  response: { 201: Role, ...errors(400, 401, 403, 404) },
};

export const update = {
  tags,
  params: RoleParams,
  body: Type.Object(roleFields, { minProperties: 1 }),
  response: { 200: Role, ...errors(400, 401, 403, 404) },
};

export const remove = { tags, params: RoleParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };

export const reorder = {
  tags,
  params: ServerParams,
  /** Every role but @everyone, highest first. */
  body: Type.Object({ order: Type.Array(Id, { maxItems: MAX_ROLES }) }),
  response: { 200: Type.Array(Role), ...errors(400, 401, 403, 404) },
};

export const assign = {
  tags,
  params: MemberRoleParams,
  response: {
    200: Type.Object({ userId: Id, serverId: Id, roleIds: Type.Array(Id) }),
    ...errors(400, 401, 403, 404),
  },
};

export const unassign = { tags, params: MemberRoleParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } };
