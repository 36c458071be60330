// Moderation: kick, ban, unban and the ban list. Kick and ban keep the hierarchy of decisions G6
// (never the owner; below owners and administrators, only members whose highest role is below the
// caller's) and, after commit, pull the target's sockets out of every room of the server.
import { rooms } from '@nexusguild/shared/events';
import { Flags, canModerate, type MemberContext } from '@nexusguild/shared/permissions';
import { accessRepo, type ServerRef } from '@nexusguild/shared/repos/access';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import { usersRepo } from '@nexusguild/shared/repos/users';
import type { App, ApiDeps } from '../../app.ts';
import { badRequest, forbidden, notFound } from '../../errors.ts';
import { guards } from '../../guards.ts';
import { presentBan } from '../../present.ts';
import { guildPublishing } from '../../publish.ts';
import { defaultBody, trimFields } from '../../body.ts';
import * as schema from './schema.ts';

export async function moderationRoutes(app: App, deps: ApiDeps) {
  const { sql, publisher } = deps;
  const servers = serversRepo(sql);
  const users = usersRepo(sql);
  const access = accessRepo(sql);
  const guard = guards(sql);
  const publishing = guildPublishing(deps);

  /**
   * The target of a kick or ban: never the caller or the owner (400); when a member, only one the
   * caller stands above (403). Null when the target is not a member.
   */
  async function moderationTarget(server: ServerRef, actor: MemberContext, userId: string, verb: 'kick' | 'ban'): Promise<MemberContext | null> {
    if (userId === actor.userId) throw badRequest(`Cannot ${verb} yourself`);
    if (userId === server.owner_id) throw badRequest(`Cannot ${verb} the server owner`);
    const target = (await access.member(server.id, userId))?.member ?? null;
    if (target && !canModerate(actor, target)) throw forbidden(`You can only ${verb} members whose highest role is below yours`);
    return target;
  }

  app.delete('/api/servers/:id/members/:userId', { schema: schema.kick }, async (request, reply) => {
    const { server, member } = await guard.member(request.params.id, request.user.id, Flags.KICK_MEMBERS);
    const { userId } = request.params;
    if (!(await moderationTarget(server, member, userId, 'kick'))) throw notFound('Member');
    // Role assignments go with the membership (cascade); false when they left meanwhile.
    if (!(await servers.removeMember(server.id, userId))) throw notFound('Member');
    await publishing.memberGone(server.id, userId);
    return reply.status(204).send(null);
  });

  app.post('/api/servers/:id/bans/:userId', { schema: schema.ban, preValidation: [defaultBody, trimFields('reason')] }, async (request, reply) => {
    const { server, member } = await guard.member(request.params.id, request.user.id, Flags.BAN_MEMBERS);
    const { userId } = request.params;
    // A ban may come before the user ever joins, so a non-member is fine; an unknown account is not.
    const target = await moderationTarget(server, member, userId, 'ban');
    if (!target && !(await users.byId(userId))) throw notFound('User');
    const { ban, wasMember } = await sql.begin(async (tx) => {
      const repo = serversRepo(tx);
      await repo.lockStanding(server.id, userId);
      await repo.ban({ serverId: server.id, userId, bannedBy: request.user.id, reason: request.body.reason || null });
      const wasMember = await repo.removeMember(server.id, userId);
      return { ban: (await repo.banOf(server.id, userId))!, wasMember };
    });
    publisher.emit(rooms.server(server.id), 'member_banned', { userId, serverId: server.id });
    if (wasMember) await publishing.memberGone(server.id, userId);
    return reply.status(201).send(presentBan(ban));
  });

  app.delete('/api/servers/:id/bans/:userId', { schema: schema.unban }, async (request, reply) => {
    const { server } = await guard.member(request.params.id, request.user.id, Flags.BAN_MEMBERS);
    await servers.unban(server.id, request.params.userId); // 204 whether or not a ban existed
    return reply.status(204).send(null);
  });

  app.get('/api/servers/:id/bans', { schema: schema.bans }, async (request) => {
    const { server } = await guard.member(request.params.id, request.user.id, Flags.BAN_MEMBERS);
    return (await servers.bans(server.id)).map(presentBan);
  });
}
