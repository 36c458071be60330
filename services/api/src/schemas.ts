// Schemas shared by many routes: the error body, ids and the wire objects. Response schemas
// drive serialization, so a field not listed here can never reach a client.
import { Type } from '@fastify/type-provider-typebox';
import { ID_PATTERN } from '@nexusguild/shared/ids';

export const Id = Type.String({ pattern: ID_PATTERN, description: 'snowflake id (decimal string)' });
export const Timestamp = Type.String({ format: 'date-time' });

export const ErrorBody = Type.Object(
  {
    error: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Error' },
);
export const ErrorRef = Type.Ref('Error');

export const MessageBody = Type.Object({ message: Type.String() });

export const User = Type.Object(
  {
    id: Id,
    username: Type.String(),
    email: Type.String(),
    avatar: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    custom_status: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { $id: 'User' },
);
export const UserRef = Type.Ref('User');

/** Error replies a route may give, for the OpenAPI document. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, ErrorRef]));
}
