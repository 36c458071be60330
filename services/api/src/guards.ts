// Owns the authorization step of every server- and channel-scoped route: the shared decision
// (shared/authorize.ts, the same one the gateway's room joins make), thrown as an HTTP error.
// Routes call these before touching anything.
import { authorizer, missing, type Refusal } from '@nexusguild/shared/authorize';
import type { Db } from '@nexusguild/shared/db/index';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import { HttpError, notFound } from './errors.ts';

const toError = (refusal: Refusal) => new HttpError(refusal.refused, refusal.error);

function granted<G extends object>(result: G | Refusal): G {
  if ('refused' in result) throw toError(result);
  return result;
}

/** 403 naming the missing flags unless `permissions` hold all of `needed`. */
export function demand(permissions: bigint, needed: bigint): void {
  const refusal = missing(permissions, needed);
  if (refusal) throw toError(refusal);
}

export function guards(sql: Db) {
  const authorize = authorizer(sql);
  return {
    /** The caller in a server, holding `needed` at server level. */
    member: async (serverId: string, userId: string, needed = 0n) => granted(await authorize.server(serverId, userId, needed)),
    /** The caller in a channel's server, able to view the channel and holding `needed` there. */
    channel: async (channelId: string, userId: string, needed = 0n) => granted(await authorize.channel(channelId, userId, needed)),
    /**
     * A server-channel message (404 for an unknown one, and for a DM's, which has its own routes)
     * and the caller's grant in its channel, holding `needed` there.
     */
    async message(messageId: string, userId: string, needed = 0n) {
      const message = await messagesRepo(sql).find(messageId);
      if (!message || message.server_id === null) throw notFound('Message');
      return { message, grant: granted(await authorize.channel(message.channel_id, userId, needed)) };
    },
  };
}
