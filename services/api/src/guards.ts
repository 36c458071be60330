// Owns the authorization step of every server- and channel-scoped route: 404 when the target does
// not exist, 403 for a non-member, 403 naming the exact missing permission. Routes call these
// before touching anything; the permission math itself lives in shared/permissions.
import type { Db } from '@nexusguild/shared/db/index';
import {
  Flags, basePermissions, channelPermissions, flagNames, has, type MemberContext,
} from '@nexusguild/shared/permissions';
import { accessRepo, type GuardedChannel, type ServerRef } from '@nexusguild/shared/repos/access';
import { forbidden, notFound } from './errors.ts';

export interface ServerAccess {
  server: ServerRef;
  member: MemberContext;
  /** Server-level permissions (no channel overrides). */
  permissions: bigint;
}

export interface ChannelAccess extends ServerAccess {
  channel: GuardedChannel;
  /** Channel-level permissions (overrides applied; a thread's come from its parent). */
  permissions: bigint;
}

export const NOT_A_MEMBER = 'You are not a member of this server';

/** 403 naming the missing flags unless `permissions` hold all of `needed`. */
export function demand(permissions: bigint, needed: bigint) {
  if (!has(permissions, needed)) throw forbidden(`Missing permission: ${flagNames(needed & ~permissions).join(', ')}`);
}

export function guards(sql: Db) {
  const access = accessRepo(sql);

  async function member(serverId: string, userId: string, needed = 0n): Promise<ServerAccess> {
    const found = await access.member(serverId, userId);
    if (!found) throw notFound('Server');
    if (!found.member) throw forbidden(NOT_A_MEMBER);
    const permissions = basePermissions(found.member);
    demand(permissions, needed);
    return { server: found.server, member: found.member, permissions };
  }

  return {
    /** The caller in a server, holding `needed` at server level. */
    member,

    /** The caller in a channel's server, able to view the channel and holding `needed` there. */
    async channel(channelId: string, userId: string, needed = 0n): Promise<ChannelAccess> {
      const channel = await access.channel(channelId);
      if (!channel) throw notFound('Channel');
      const { server, member: m } = await member(channel.server_id, userId);
      const permissions = channelPermissions(m, server.id, channel.overrides);
      demand(permissions, Flags.VIEW_CHANNEL | needed);
      return { server, member: m, channel, permissions };
    },
  };
}
