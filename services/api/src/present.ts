// Presenters: the only place database rows become the JSON of the client guide.
import type { UserRow } from '@nexusguild/shared/repos/users';
import type { UserObject } from '@nexusguild/shared/wire';

export function presentUser(row: UserRow, status: UserObject['status']): UserObject {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    avatar: row.avatar,
    status,
    custom_status: row.custom_status,
    created_at: row.created_at.toISOString(),
  };
}
