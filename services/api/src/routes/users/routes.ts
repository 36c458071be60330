// Users: the caller's custom status, password and server nicknames (their own, or a lower
// member's with MANAGE_NICKNAMES).
import { rooms } from '@nexusguild/shared/events';
import { Flags, canModerate } from '@nexusguild/shared/permissions';
import { accessRepo } from '@nexusguild/shared/repos/access';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import { usersRepo } from '@nexusguild/shared/repos/users';
import { endUserSessions } from '@nexusguild/shared/sessions';
import type { App, ApiDeps } from '../../app.ts';
import { trimFields } from '../../body.ts';
import { badRequest, forbidden, notFound, unauthorized } from '../../errors.ts';
import { guards } from '../../guards.ts';
import { hashPassword, verifyPassword } from '../../passwords.ts';
import { limits } from '../../plugins/rate-limit.ts';
import { presentUser } from '../../present.ts';
import * as schema from './schema.ts';

export async function userRoutes(app: App, { sql, redis, keys, publisher }: ApiDeps) {
  const users = usersRepo(sql);
  const servers = serversRepo(sql);
  const guard = guards(sql);

  app.patch('/api/users/me/status', { schema: schema.status, preValidation: trimFields('status', 'custom_status') }, async (request) => {
    const { status, custom_status: customStatus } = request.body;
    const given = customStatus !== undefined ? customStatus : status;
    if (given === undefined) throw badRequest('status or custom_status is required', [{ field: 'status', message: 'is required' }]);
    const user = await users.setCustomStatus(request.user.id, given || null); // empty clears it
    if (!user) throw notFound('User');
    const serverIds = await servers.idsFor(user.id);
    if (serverIds.length) publisher.emit(serverIds.map(rooms.server), 'custom_status_update', { userId: user.id, custom_status: user.custom_status });
    return presentUser(user, 'online');
  });

  app.patch('/api/users/me/password', { schema: schema.password, config: { rateLimit: limits.login } }, async (request) => {
    const { currentPassword, newPassword } = request.body;
    const user = await users.byId(request.user.id);
    if (!user) throw notFound('User');
    if (!(await verifyPassword(user.password_hash, currentPassword))) throw unauthorized('Current password is incorrect');
    await users.setPasswordHash(user.id, await hashPassword(newPassword));
    // Every other login of this account ends, and the sockets it opened close; this one stays.
    for (const sid of await endUserSessions(redis, keys, user.id, request.session.sessionId)) publisher.endSession(sid);
    return { message: 'Password changed successfully' };
  });

  /** Sets `targetId`'s nickname in a server as `actorId`, announces it, and answers the change. */
  async function setNickname(serverId: string, actorId: string, targetId: string, raw: string | null | undefined) {
    const nickname = raw || null; // empty or missing clears it
    const self = actorId === targetId;
    const { member: actor } = await guard.member(serverId, actorId, self ? Flags.CHANGE_NICKNAME : Flags.MANAGE_NICKNAMES);
    if (!self) {
      const target = (await accessRepo(sql).member(serverId, targetId))?.member;
      if (!target) throw notFound('Member');
      if (!canModerate(actor, target)) throw forbidden('You can only change the nicknames of members below your highest role');
    }
    if (!(await servers.setNickname(serverId, targetId, nickname))) throw notFound('Member');
    publisher.emit(rooms.server(serverId), 'member_updated', { serverId, userId: targetId, nickname });
    return { message: 'Nickname updated', serverId, userId: targetId, nickname };
  }

  app.patch('/api/users/me/nickname/:serverId', { schema: schema.ownNickname, preValidation: trimFields('nickname') }, async (request) =>
    setNickname(request.params.serverId, request.user.id, request.user.id, request.body.nickname));

  app.patch('/api/servers/:id/members/:userId', { schema: schema.memberNickname, preValidation: trimFields('nickname') }, async (request) =>
    setNickname(request.params.id, request.user.id, request.params.userId, request.body.nickname));
}
