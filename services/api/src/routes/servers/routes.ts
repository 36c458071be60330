// Servers: the caller's list, create (with the default roles and channels), settings, delete,
// joining by invite, leaving, the member list and invites.
import { rooms } from '@nexusguild/shared/events';
import { Flags, basePermissions } from '@nexusguild/shared/permissions';
import { presenceStore } from '@nexusguild/shared/presence';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import { serversRepo } from '@nexusguild/shared/repos/servers';
import type { App, ApiDeps } from '../../app.ts';
import { badRequest, forbidden, notFound } from '../../errors.ts';
import { demand, guards } from '../../guards.ts';
import { presentInvite, presentMember, presentServer } from '../../present.ts';
import { limits } from '../../plugins/rate-limit.ts';
import { guildPublishing, serverRooms } from '../../publish.ts';
import { trimFields } from '../../body.ts';
import { removeObjects } from '../../jobs.ts';
import * as schema from './schema.ts';

export async function serverRoutes(app: App, deps: ApiDeps) {
  const { sql, ids, publisher, jobs } = deps;
  const servers = serversRepo(sql);
  const presence = presenceStore(deps.redis, deps.keys);
  const guard = guards(sql);
  const publishing = guildPublishing(deps);

  app.get('/api/servers', { schema: schema.list }, async (request) => {
    return (await servers.listFor(request.user.id)).map(presentServer);
  });

  app.post('/api/servers', { schema: schema.create, config: { rateLimit: limits.createServer }, preValidation: trimFields('name') }, async (request, reply) => {
    const { name, icon = null } = request.body;
    const server = await sql.begin((tx) => serversRepo(tx).create({ id: ids.next(), name, icon, ownerId: request.user.id }, ids.next));
    publisher.emit(rooms.user(request.user.id), 'server_joined', { serverId: server.id });
    return reply.status(201).send(presentServer(server));
  });

  app.get('/api/servers/:id', { schema: schema.get }, async (request) => {
    await guard.member(request.params.id, request.user.id);
    return presentServer((await servers.byId(request.params.id))!);
  });

  app.patch('/api/servers/:id', { schema: schema.update, preValidation: trimFields('name') }, async (request) => {
    await guard.member(request.params.id, request.user.id, Flags.MANAGE_GUILD);
    const updated = await servers.update(request.params.id, request.body);
    if (!updated) throw notFound('Server');
    const server = presentServer(updated);
    publisher.emit(rooms.server(server.id), 'server_updated', server);
    return server;
  });

  app.delete('/api/servers/:id', { schema: schema.remove }, async (request, reply) => {
    const { server } = await guard.member(request.params.id, request.user.id);
    if (server.owner_id !== request.user.id) throw forbidden('Only the server owner can delete the server');
    const { channelIds, objects } = await sql.begin(async (tx) => {
      const repo = serversRepo(tx);
      // Locked, so no message or thread lands in a channel after its objects were listed.
      const channels = await repo.channelIds(server.id, { lock: true });
      const objects = await messagesRepo(tx).objectKeys(channels);
      await repo.remove(server.id);
      return { channelIds: channels, objects };
    });
    publisher.emit(rooms.server(server.id), 'server_deleted', { serverId: server.id });
    await publishing.voiceGone(server.id);
    publisher.clearRooms(serverRooms(server.id, channelIds));
    await removeObjects(jobs, objects, request.log);
    return reply.status(204).send(null);
  });

  app.post('/api/servers/join', { schema: schema.join, config: { rateLimit: limits.joinServer }, preValidation: trimFields('code') }, async (request) => {
    const userId = request.user.id;
    const { server, joined } = await sql.begin(async (tx) => {
      const repo = serversRepo(tx);
      const invite = await repo.lockActiveInvite(request.body.code);
      if (!invite) throw notFound('Invite'); // unknown, expired and used-up invites look the same
      await repo.lockStanding(invite.server_id, userId);
      if (await repo.isBanned(invite.server_id, userId)) throw forbidden('You are banned from this server');
      const joined = await repo.addMember(invite.server_id, userId);
      if (joined) await repo.useInvite(invite.code); // re-joining as a member costs no use
      return { server: (await repo.byId(invite.server_id))!, joined };
    });
    if (joined) {
      publisher.emit(rooms.server(server.id), 'user_joined', { userId, username: request.user.username, serverId: server.id });
      publisher.emit(rooms.user(userId), 'server_joined', { serverId: server.id });
    }
    return presentServer(server);
  });

  app.post('/api/servers/:id/leave', { schema: schema.leave }, async (request) => {
    const { server } = await guard.member(request.params.id, request.user.id);
    if (server.owner_id === request.user.id) throw badRequest('Server owner cannot leave — delete the server instead');
    await servers.removeMember(server.id, request.user.id);
    await publishing.memberGone(server.id, request.user.id);
    return { message: 'Left server' };
  });

  app.get('/api/servers/:id/members', { schema: schema.members }, async (request) => {
    const { server, member } = await guard.member(request.params.id, request.user.id);
    const rows = await servers.members(server.id, request.query.limit ?? schema.MEMBER_LIMIT);
    const online = await presence.online(rows.map((m) => m.id)); // one Redis round trip
    return {
      members: rows.map((m) => presentMember(m, online.has(m.id) ? 'online' : 'offline')),
      myPermissions: basePermissions(member).toString(),
    };
  });

  app.get('/api/servers/:id/invites', { schema: schema.invites }, async (request) => {
    const { server } = await guard.member(request.params.id, request.user.id);
    return (await servers.activeInvites(server.id)).map(presentInvite);
  });

  app.post('/api/servers/:id/invites', { schema: schema.createInvite }, async (request, reply) => {
    const { server } = await guard.member(request.params.id, request.user.id, Flags.CREATE_INSTANT_INVITE);
    const { maxUses = 0, expiresIn = null } = request.body;
    const invite = await servers.createInvite({ serverId: server.id, inviterId: request.user.id, maxUses, expiresIn });
    return reply.status(201).send(presentInvite(invite));
  });

  app.delete('/api/servers/:id/invites/:code', { schema: schema.revokeInvite }, async (request, reply) => {
    const { server, permissions } = await guard.member(request.params.id, request.user.id);
    const invite = await servers.invite(server.id, request.params.code);
    if (!invite) throw notFound('Invite');
    // Its creator may revoke an invite; anyone else needs MANAGE_GUILD.
    if (invite.inviter_id !== request.user.id) demand(permissions, Flags.MANAGE_GUILD);
    await servers.deleteInvite(invite.code);
    return reply.status(204).send(null);
  });
}
