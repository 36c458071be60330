// Owns the first decision of every server- or channel-scoped action, for the API's routes and the
// gateway's room joins alike: no such server or channel (404), not a member (403), a permission
// missing (403, naming it), a private thread the caller is not in (403). The API throws the
// refusal as an HTTP error; the gateway acks it.
import type { Db } from './db/index.ts';
import { Flags, basePermissions, channelPermissions, flagNames, has, type MemberContext } from './permissions.ts';
import { accessRepo, type GuardedChannel, type ServerRef } from './repos/access.ts';

export interface Refusal {
  refused: 403 | 404;
  error: string;
}

export interface ServerGrant {
  server: ServerRef;
  member: MemberContext;
  /** Server-level permissions (no channel overrides). */
  permissions: bigint;
}

export interface ChannelGrant extends ServerGrant {
  channel: GuardedChannel;
  /** Channel-level permissions (overrides applied; a thread's come from its parent). */
  permissions: bigint;
}

const refuse = (refused: Refusal['refused'], error: string): Refusal => ({ refused, error });

/** Null when `permissions` hold all of `needed`, else the 403 naming what is missing. */
export function missing(permissions: bigint, needed: bigint): Refusal | null {
  return has(permissions, needed) ? null : refuse(403, `Missing permission: ${flagNames(needed & ~permissions).join(', ')}`);
}

/**
 * A private thread is seen by its members only (and by those who manage threads, as in Discord):
 * whether someone holding `permissions` (channel level, VIEW_CHANNEL included) must also be one.
 */
export function needsThreadMembership(channelType: string, permissions: bigint): boolean {
  return channelType === 'private_thread' && !has(permissions, Flags.MANAGE_THREADS);
}

export function authorizer(sql: Db) {
  const access = accessRepo(sql);

  function grantOf(server: ServerRef, member: MemberContext | null): ServerGrant | Refusal {
    if (!member) return refuse(403, 'You are not a member of this server');
    return { server, member, permissions: basePermissions(member) };
  }

  async function server(serverId: string, userId: string, needed = 0n): Promise<ServerGrant | Refusal> {
    const found = await access.member(serverId, userId);
    if (!found) return refuse(404, 'Server not found');
    const grant = grantOf(found.server, found.member);
    return 'refused' in grant ? grant : (missing(grant.permissions, needed) ?? grant);
  }

  return {
    /** The caller in a server, holding `needed` at server level. */
    server,

    /** The caller in a channel's server, able to view the channel and holding `needed` there. */
    async channel(channelId: string, userId: string, needed = 0n): Promise<ChannelGrant | Refusal> {
      const found = await access.channelFor(channelId, userId);
      if (!found) return refuse(404, 'Channel not found');
      const grant = grantOf(found.server, found.member);
      if ('refused' in grant) return grant;
      const { channel } = found;
      const permissions = channelPermissions(grant.member, grant.server.id, channel.overrides);
      const refusal = missing(permissions, Flags.VIEW_CHANNEL | needed);
      if (refusal) return refusal;
      if (needsThreadMembership(channel.type, permissions) && !(await access.isChannelMember(channel.id, userId))) {
        return refuse(403, 'Not a member of this private thread');
      }
      return { ...grant, channel, permissions };
    },
  };
}
