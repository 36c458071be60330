// Roles: list, create, update, delete, reorder, and assigning roles to members. Every change keeps
// the hierarchy of decisions G6: below owners and administrators, a caller manages only roles below
// their own highest role and never grants a bit they do not hold.
import { rooms } from '@nexusguild/shared/events';
import {
  Flags, aboveHierarchy, canGrant, canManageRole, canModerate, topPosition, type MemberContext,
} from '@nexusguild/shared/permissions';
import { accessRepo } from '@nexusguild/shared/repos/access';
import { rolesRepo, type RoleRow } from '@nexusguild/shared/repos/roles';
import type { App, ApiDeps } from '../../app.ts';
import { badRequest, forbidden, notFound } from '../../errors.ts';
import { guards } from '../../guards.ts';
import { presentRole } from '../../present.ts';
import { permissionMask } from '../../schemas.ts';
import { defaultBody, trimFields } from '../../body.ts';
import * as schema from './schema.ts';

const BELOW_TOP_ROLE = 'You can only manage roles below your highest role';
const NO_ESCALATION = 'You cannot grant permissions you do not have';

function demandManageable(actor: MemberContext, position: number) {
  if (!canManageRole(actor, position)) throw forbidden(BELOW_TOP_ROLE);
}

export async function roleRoutes(app: App, { sql, ids, publisher }: ApiDeps) {
  const roles = rolesRepo(sql);
  const guard = guards(sql);

  /** The role of this server named in the path, or 404. */
  async function roleOf(serverId: string, roleId: string): Promise<RoleRow> {
    const role = await roles.byId(serverId, roleId);
    if (!role) throw notFound('Role');
    return role;
  }

  app.get('/api/servers/:id/roles', { schema: schema.list }, async (request) => {
    const { server } = await guard.member(request.params.id, request.user.id);
    return (await roles.list(server.id)).map(presentRole);
  });

  app.post('/api/servers/:id/roles', { schema: schema.create, preValidation: [defaultBody, trimFields('name')] }, async (request, reply) => {
    const { server, member } = await guard.member(request.params.id, request.user.id, Flags.MANAGE_ROLES);
    const { name = 'New Role', color = '#99AAB5', hoist = false, mentionable = false } = request.body;
    const permissions = permissionMask(request.body.permissions ?? 0, 'permissions');
    if (!canGrant(member, permissions)) throw forbidden(NO_ESCALATION);
    // Owners and admins add roles on top; anyone else just below their own highest role, so
    // the role they made stays one they can manage.
    const position = aboveHierarchy(member) ? undefined : Math.max(1, topPosition(member));
    const created = await sql.begin(async (tx) => {
      const repo = rolesRepo(tx);
      await repo.lock(server.id); // two creates must not take the same position
      if ((await repo.count(server.id)) >= schema.MAX_ROLES) throw badRequest(`A server can have at most ${schema.MAX_ROLES} roles`);
      return repo.create({ id: ids.next(), serverId: server.id, name, color, permissions, hoist, mentionable }, position);
    });
    const role = presentRole(created.role);
    publisher.emit(rooms.server(server.id), 'role_created', role);
    for (const lifted of created.lifted) publisher.emit(rooms.server(server.id), 'role_updated', presentRole(lifted));
    return reply.status(201).send(role);
  });

  // Registered before /roles/:roleId; find-my-way prefers the static segment anyway.
  app.patch('/api/servers/:id/roles/reorder', { schema: schema.reorder }, async (request) => {
    const { server, member } = await guard.member(request.params.id, request.user.id, Flags.MANAGE_ROLES);
    const { order } = request.body;
    const { list, moved } = await sql.begin(async (tx) => {
      const repo = rolesRepo(tx);
      await repo.lock(server.id);
      const current = new Map((await repo.list(server.id)).filter((r) => r.id !== server.id).map((r) => [r.id, r]));
      if (order.length !== current.size || new Set(order).size !== order.length || !order.every((id) => current.has(id))) {
        throw badRequest('order must list every role of the server except @everyone exactly once');
      }
      // The roles keep the positions they hold between them, dealt out in the new order (for
      // compact positions that is length − index). Renumbering everything would also "move"
      // roles above a gap left by a deleted role, and refuse a reorder below the caller's top.
      const slots = [...current.values()].map((r) => r.position).sort((x, y) => y - x);
      const changes = order
        .map((id, index) => ({ role: current.get(id)!, position: slots[index]! }))
        .filter((c) => c.role.position !== c.position);
      // A role may move only from below the caller's top role to below it.
      for (const c of changes) {
        demandManageable(member, c.role.position);
        demandManageable(member, c.position);
      }
      await repo.setPositions(server.id, changes.map((c) => ({ id: c.role.id, position: c.position })));
      return { list: await repo.list(server.id), moved: new Set(changes.map((c) => c.role.id)) };
    });
    const presented = list.map(presentRole);
    for (const role of presented) if (moved.has(role.id)) publisher.emit(rooms.server(server.id), 'role_updated', role);
    return presented;
  });

  app.patch('/api/servers/:id/roles/:roleId', { schema: schema.update, preValidation: trimFields('name') }, async (request) => {
    const { server, member } = await guard.member(request.params.id, request.user.id, Flags.MANAGE_ROLES);
    const { permissions: given } = request.body;
    const permissions = given === undefined ? undefined : permissionMask(given, 'permissions');
    const role = await roleOf(server.id, request.params.roleId);
    const { name } = request.body;
    if (role.id === server.id && name !== undefined && name !== role.name) throw badRequest('Cannot rename @everyone');
    demandManageable(member, role.position);
    // Only bits the role does not have yet are grants; keeping a bit the caller lacks is no escalation.
    if (permissions !== undefined && !canGrant(member, permissions & ~BigInt(role.permissions))) throw forbidden(NO_ESCALATION);
    const row = await roles.update(role.id, { ...request.body, permissions });
    if (!row) throw notFound('Role');
    const updated = presentRole(row);
    publisher.emit(rooms.server(server.id), 'role_updated', updated);
    if (updated.permissions !== role.permissions) publisher.recheckAccess(server.id);
    return updated;
  });

  app.delete('/api/servers/:id/roles/:roleId', { schema: schema.remove }, async (request, reply) => {
    const { server, member } = await guard.member(request.params.id, request.user.id, Flags.MANAGE_ROLES);
    const role = await roleOf(server.id, request.params.roleId);
    if (role.id === server.id) throw badRequest('Cannot delete @everyone role');
    demandManageable(member, role.position);
    await sql.begin((tx) => rolesRepo(tx).remove(role.id)); // assignments and overrides go with it
    publisher.emit(rooms.server(server.id), 'role_deleted', { roleId: role.id, serverId: server.id });
    publisher.recheckAccess(server.id);
    return reply.status(204).send(null);
  });

  /** Assigns or removes one role of a member; announces and re-checks access only on a change. */
  async function changeMemberRole(params: { id: string; userId: string; roleId: string }, callerId: string, assign: boolean) {
    const { server, member } = await guard.member(params.id, callerId, Flags.MANAGE_ROLES);
    const role = await roleOf(server.id, params.roleId);
    if (role.id === server.id) throw badRequest(assign ? 'Cannot assign @everyone role' : 'Cannot remove @everyone role');
    demandManageable(member, role.position);
    // Assigning a role grants its bits: only bits the caller holds (no self-made administrators).
    if (assign && !canGrant(member, BigInt(role.permissions))) throw forbidden(NO_ESCALATION);
    const { changed, roleIds } = await sql.begin(async (tx) => {
      const repo = rolesRepo(tx);
      if (!(await repo.lockMember(server.id, params.userId))) throw notFound('Member');
      // Someone else's roles change only from above them (never the owner's).
      const target = params.userId === callerId ? null : (await accessRepo(tx).member(server.id, params.userId))?.member;
      if (target && !canModerate(member, target)) throw forbidden('You can only change the roles of members below your highest role');
      const changed = assign
        ? await repo.assign(server.id, params.userId, role.id)
        : await repo.unassign(server.id, params.userId, role.id);
      return { changed, roleIds: await repo.memberRoleIds(server.id, params.userId) };
    });
    const result = { userId: params.userId, serverId: server.id, roleIds };
    if (changed) {
      publisher.emit(rooms.server(server.id), 'member_role_updated', result);
      publisher.recheckAccess(server.id);
    }
    return result;
  }

  app.put('/api/servers/:id/members/:userId/roles/:roleId', { schema: schema.assign }, async (request) => {
    return changeMemberRole(request.params, request.user.id, true);
  });

  app.delete('/api/servers/:id/members/:userId/roles/:roleId', { schema: schema.unassign }, async (request, reply) => {
    await changeMemberRole(request.params, request.user.id, false);
    return reply.status(204).send(null);
  });
}
