// Users: the caller's custom status, password, avatar and server nicknames (their own, or a
// lower member's with MANAGE_NICKNAMES).
import { rooms } from '@nexusguild/shared/events';
import { uploadUrl } from '@nexusguild/shared/storage';
import { Flags, canModerate } from '@nexusguild/shared/permissions';
import { accessRepo } from '@nexusguild/shared/repos/access';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import { usersRepo } from '@nexusguild/shared/repos/users';
import { endUserSessions } from '@nexusguild/shared/sessions';
import type { App, ApiDeps } from '../../app.ts';
import { trimFields } from '../../body.ts';
import { badRequest, forbidden, notFound, unauthorized, unsupportedType } from '../../errors.ts';
import { guards } from '../../guards.ts';
import { enqueueAfterCommit, removeObjects } from '../../jobs.ts';
import { hashPassword, verifyPassword } from '../../passwords.ts';
import { limits } from '../../plugins/rate-limit.ts';
import { presentUser } from '../../present.ts';
import { IMAGE_TYPES, receiveUpload, withUploads } from '../../uploads.ts';
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

/** Avatars (decisions: 8 MiB, images only); the worker makes the stored one a square PNG. */
export const AVATAR_MAX_BYTES = 8 * 1024 * 1024;

/** The avatar upload: multipart, so app.ts registers it in its multipart scope. */
export async function avatarRoutes(app: App, { sql, storage, ids, jobs }: ApiDeps) {
  const users = usersRepo(sql);

  app.post('/api/users/me/avatar', { schema: schema.avatar }, async (request) => {
    const userId = request.user.id;
    const { files } = await receiveUpload(request, { storage, ids }, {
      fileFields: ['file'],
      maxFiles: 1,
      maxFileBytes: AVATAR_MAX_BYTES,
      keyPrefix: `avatars/${userId}`,
      accept: ({ contentType }) => {
        if (!IMAGE_TYPES.has(contentType)) throw unsupportedType('Avatar must be a PNG, JPEG, GIF or WebP image');
      },
    });
    const [file] = files;
    if (!file) throw badRequest('No file uploaded');
    // The original shows at once; the worker swaps in the resized one.
    const user = await withUploads(storage, files, async () => {
      const updated = await users.setAvatar(userId, uploadUrl(file.key));
      if (!updated) throw notFound('User');
      return updated;
    });
    await enqueueAfterCommit(jobs, request.log, 'process-avatar', { userId, key: file.key });
    const previous = user.previous_avatar;
    if (previous?.startsWith(uploadUrl('avatars/'))) await removeObjects(jobs, [previous.slice(uploadUrl('').length)], request.log);
    return presentUser(user, 'online');
  });
}
