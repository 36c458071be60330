// Channels: the caller's channel list, create (every non-thread type, categories included),
// update, delete, reorder, and per-channel permission overrides.
import { rooms } from '@nexusguild/shared/events';
import type { Db } from '@nexusguild/shared/db/index';
import {
  Flags, canManageRole, canModerate, channelPermissions, has, type MemberContext,
} from '@nexusguild/shared/permissions';
import type { ServerGrant } from '@nexusguild/shared/authorize';
import { accessRepo, isThread, type ChannelRow } from '@nexusguild/shared/repos/access';
import { channelsRepo, type Placement } from '@nexusguild/shared/repos/channels';
import { readsRepo } from '@nexusguild/shared/repos/reads';
import { messagesRepo } from '@nexusguild/shared/repos/messages';
import { rolesRepo } from '@nexusguild/shared/repos/roles';
import type { ChannelType } from '@nexusguild/shared/wire';
import type { App, ApiDeps } from '../../app.ts';
import { badRequest, forbidden, notFound } from '../../errors.ts';
import { guards } from '../../guards.ts';
import { presentChannel, presentChannelListItem, presentOverride } from '../../present.ts';
import { permissionMask } from '../../schemas.ts';
import { channelRooms, guildPublishing } from '../../publish.ts';
import { defaultBody, trimFields } from '../../body.ts';
import { removeObjects } from '../../jobs.ts';
import * as schema from './schema.ts';

/** Creatable types by name and by the guide's integer; threads come from messages instead. */
const CREATABLE: Record<string, ChannelType> = {
  text: 'text', 0: 'text',
  voice: 'voice', 2: 'voice',
  category: 'category', 4: 'category',
  announcement: 'announcement', 5: 'announcement',
  forum: 'forum', media: 'media', 15: 'forum',
};
const THREAD_TYPES = new Set(['thread', 'public_thread', 'private_thread', '11', '12']);

function channelType(type: string | number | undefined): ChannelType {
  if (type === undefined) return 'text';
  // ajv may have coerced an integer to its string form; both spellings are in the table.
  const key = String(type).trim().toLowerCase();
  if (THREAD_TYPES.has(key)) throw badRequest('Threads are created from a message');
  const found = Object.hasOwn(CREATABLE, key) ? CREATABLE[key] : undefined;
  if (!found) throw badRequest('type must be one of text, voice, category, announcement, forum, media (or 0, 2, 4, 5, 15)', [{ field: 'type', message: 'is not a channel type' }]);
  return found;
}

/** The category a body names under any alias: undefined when absent, null to clear. */
function parentOf(body: Partial<Record<(typeof schema.PARENT_ALIASES)[number], string | null>>): string | null | undefined {
  for (const key of schema.PARENT_ALIASES) if (body[key] !== undefined) return body[key] || null;
  return undefined;
}

/** An empty topic is no topic. */
const topicOf = (topic: string | null | undefined) => (topic === undefined ? undefined : topic?.trim() || null);

/** A parent must be a category of the same server, and a category has none. */
function checkParent(channelType: string, parent: ChannelRow | null | undefined, parentId: string | null, serverId: string) {
  if (parentId === null) return;
  if (channelType === 'category') throw badRequest('A category cannot have a parent');
  if (!parent || parent.server_id !== serverId || parent.type !== 'category') throw badRequest('Parent must be a category of this server');
}

/** Flattens the `{channels, categories}` reorder body into the bare-array form before validation. */
async function flattenReorder(request: { body: unknown }) {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  const { channels, categories } = body as { channels?: unknown; categories?: unknown };
  request.body = [channels, categories].flatMap((part) => (part === undefined ? [] : Array.isArray(part) ? part : [part]));
}

export async function channelRoutes(app: App, deps: ApiDeps) {
  const { sql, ids, publisher, jobs } = deps;
  const guard = guards(sql);
  const publishing = guildPublishing(deps);
  const channels = channelsRepo(sql);

  /** The channels the member may view, each with their permissions there and their read counts. */
  async function visibleChannels({ server, member }: ServerGrant) {
    const rows = await accessRepo(sql).channels(server.id);
    const visible = rows
      .map((row) => ({ row, permissions: channelPermissions(member, server.id, row.overrides) }))
      .filter((c) => has(c.permissions, Flags.VIEW_CHANNEL));
    const counts = await channels.readCounts(member.userId, visible.map((c) => c.row.id));
    return visible.map((c) => presentChannelListItem(c.row, c.permissions, counts.get(c.row.id)));
  }

  app.get('/api/channels/:serverId', { schema: schema.list }, async (request) => {
    return visibleChannels(await guard.member(request.params.serverId, request.user.id));
  });

  app.post('/api/channels/:serverId', { schema: schema.create, preValidation: trimFields('name') }, async (request, reply) => {
    const { server } = await guard.member(request.params.serverId, request.user.id, Flags.MANAGE_CHANNELS);
    const type = channelType(request.body.type);
    const parentId = parentOf(request.body) ?? null;
    const channel = await sql.begin(async (tx) => {
      const repo = channelsRepo(tx);
      checkParent(type, parentId ? await repo.byId(parentId) : null, parentId, server.id);
      if ((await repo.count(server.id)) >= schema.MAX_CHANNELS) throw badRequest(`A server can have at most ${schema.MAX_CHANNELS} channels`);
      const created = await repo.create({
        id: ids.next(), serverId: server.id, type, name: request.body.name, topic: topicOf(request.body.topic) ?? null,
        parentId, position: await repo.nextPosition(server.id, parentId),
      });
      // Overrides do not cascade from a category at check time (notes G3); a new channel starts
      // with its category's, so a channel created under a private category is private too.
      if (parentId) await repo.copyOverrides(parentId, created.id);
      return created;
    });
    const presented = presentChannel(channel);
    await publishing.toViewers((await accessRepo(sql).channel(channel.id)) ?? { ...channel, overrides: [] }, 'channel_created', presented);
    return reply.status(201).send(presented);
  });

  app.patch('/api/channels/:serverId/reorder', { schema: schema.reorder, preValidation: flattenReorder }, async (request) => {
    const access = await guard.member(request.params.serverId, request.user.id, Flags.MANAGE_CHANNELS);
    const serverId = access.server.id;
    const changed = await sql.begin(async (tx) => {
      const repo = channelsRepo(tx);
      const current = new Map((await repo.lockServerChannels(serverId)).map((c) => [c.id, c]));
      const wanted = new Map<string, Placement>();
      for (const item of request.body) {
        const channel = current.get(item.id);
        if (!channel) continue; // another server's channel, a thread or an unknown id: ignored
        const requested = parentOf(item);
        const parentId = requested === undefined ? (wanted.get(item.id) ?? channel).parent_id : requested;
        checkParent(channel.type, parentId ? current.get(parentId) : null, parentId, serverId);
        wanted.set(item.id, { id: item.id, position: item.position, parent_id: parentId });
      }
      const changes = [...wanted.values()].filter((p) => {
        const c = current.get(p.id)!;
        return c.position !== p.position || c.parent_id !== p.parent_id;
      });
      return repo.place(changes);
    });
    if (changed.length) {
      publisher.emit(rooms.server(serverId), 'channels_reordered', { serverId });
      const guarded = new Map((await accessRepo(sql).channels(serverId)).map((c) => [c.id, c]));
      for (const row of changed) {
        const channel = guarded.get(row.id);
        if (channel) await publishing.toViewers(channel, 'channel_updated', presentChannel(row));
      }
    }
    return visibleChannels(access);
  });

  app.patch('/api/channels/:channelId', { schema: schema.update, preValidation: trimFields('name') }, async (request) => {
    const { channel, server } = await guard.channel(request.params.channelId, request.user.id, Flags.MANAGE_CHANNELS);
    const { name, position } = request.body;
    const topic = topicOf(request.body.topic);
    const parentId = parentOf(request.body);
    if (name === undefined && topic === undefined && position === undefined && parentId === undefined) {
      throw badRequest('Nothing to update: send name, topic, position or parent_id');
    }
    const updated = await sql.begin(async (tx) => {
      const repo = channelsRepo(tx);
      const moved = parentId !== undefined && parentId !== channel.parent_id;
      if (moved) {
        if (isThread(channel)) throw badRequest("A thread's parent cannot be changed");
        checkParent(channel.type, parentId ? await repo.byId(parentId) : null, parentId, server.id);
      }
      // Moved without a position: it goes last under its new category.
      const newPosition = position ?? (moved ? await repo.nextPosition(server.id, parentId) : undefined);
      const row = await repo.update(channel.id, { name, topic, position: newPosition, parent_id: moved ? parentId : undefined });
      if (!row) throw notFound('Channel');
      return row;
    });
    const presented = presentChannel(updated);
    await publishing.toViewers(channel, 'channel_updated', presented); // its overrides did not change
    return presented;
  });

  // The caller's read cursor: moved (with their counts recounted after it in the same statement,
  // so a concurrent aggregation cannot bring back what this read), then their other tabs are told.
  app.patch('/api/channels/:channelId/read', { schema: schema.markRead, preValidation: defaultBody }, async (request) => {
    const { channel } = await guard.channel(request.params.channelId, request.user.id);
    const messageId = request.body.messageId ?? null;
    const cursor = await readsRepo(sql).markRead(request.user.id, channel.id, messageId, ids.next());
    if (!cursor) throw badRequest('messageId is not a message of this channel', [{ field: 'messageId', message: 'is not in this channel' }]);
    publisher.emit(rooms.user(request.user.id), 'channel_read', { channelId: channel.id });
    return { ok: true as const, last_read_id: cursor };
  });

  app.delete('/api/channels/:channelId', { schema: schema.remove }, async (request, reply) => {
    const { channel, server } = await guard.channel(request.params.channelId, request.user.id, Flags.MANAGE_CHANNELS);
    const { deleted, keys } = await sql.begin(async (tx) => {
      const repo = channelsRepo(tx);
      // The attachments' objects are read under the channels' locks, before the rows cascade away.
      const keys = await messagesRepo(tx).objectKeys(await repo.lockWithThreads(channel.id));
      return { deleted: await repo.remove(channel.id), keys };
    });
    for (const channelId of deleted) publisher.emit(rooms.server(server.id), 'channel_deleted', { channelId, serverId: server.id });
    // A category's children are now uncategorised: their placement changed.
    if (channel.type === 'category') publisher.emit(rooms.server(server.id), 'channels_reordered', { serverId: server.id });
    await publishing.voiceGone(server.id, deleted);
    publisher.clearRooms(channelRooms(deleted));
    await removeObjects(jobs, keys, request.log);
    return reply.status(204).send(null);
  });

  // Overrides. All need MANAGE_CHANNELS in the channel (categories hold overrides too).

  app.get('/api/channels/:channelId/permissions', { schema: schema.overrides }, async (request) => {
    const { channel } = await guard.channel(request.params.channelId, request.user.id, Flags.MANAGE_CHANNELS);
    return (await channels.overrides(channel.id)).map(presentOverride);
  });

  app.get('/api/channels/:channelId/permissions/:targetId', { schema: schema.override }, async (request) => {
    const { channel } = await guard.channel(request.params.channelId, request.user.id, Flags.MANAGE_CHANNELS);
    const row = await channels.override(channel.id, request.params.targetId);
    if (!row) throw notFound('Override');
    return presentOverride(row);
  });

  /**
   * Hierarchy and escalation for changing an override (decisions, G6): below owners and
   * administrators, the target must be a role below the caller's highest (@everyone is the floor
   * anyone may edit) or a member the caller outranks (or the caller), and every bit whose state
   * changes must be one the caller holds in this channel. An override whose role was deleted or
   * whose member left can still be removed (`gone: 'allow'`).
   */
  async function authorizeOverride(
    db: Db, actor: MemberContext, serverId: string, permissions: bigint,
    target: { id: string; type: 'role' | 'member'; gone: 'refuse' | 'allow' }, changedBits: bigint,
  ) {
    if (target.type === 'role') {
      const role = await rolesRepo(db).byId(serverId, target.id);
      if (!role && target.gone === 'refuse') throw notFound('Role');
      if (role && role.id !== serverId && !canManageRole(actor, role.position)) throw forbidden('You can only manage roles below your highest role');
    } else {
      const found = await accessRepo(db).member(serverId, target.id);
      if (!found?.member && target.gone === 'refuse') throw notFound('Member');
      if (found?.member && target.id !== actor.userId && !canModerate(actor, found.member) && !has(permissions, Flags.ADMINISTRATOR)) {
        throw forbidden('You can only manage members below your highest role');
      }
    }
    if (changedBits & ~permissions) throw forbidden('You cannot allow or deny permissions you do not hold');
  }

  /** A mask from the body: within the flag table and never ADMINISTRATOR (a server-level grant only). */
  function mask(value: string | number | undefined, field: 'allow' | 'deny'): bigint {
    const bits = permissionMask(value ?? 0, field);
    if (bits & Flags.ADMINISTRATOR) throw badRequest('Overrides cannot carry ADMINISTRATOR', [{ field, message: 'has ADMINISTRATOR' }]);
    return bits;
  }

  app.put('/api/channels/:channelId/permissions/:targetId', { schema: schema.putOverride }, async (request) => {
    const { channel, server, member, permissions } = await guard.channel(request.params.channelId, request.user.id, Flags.MANAGE_CHANNELS);
    if (isThread(channel)) throw badRequest("Threads follow their parent channel's overrides");
    const allow = mask(request.body.allow, 'allow');
    const deny = mask(request.body.deny, 'deny');
    const targetId = request.params.targetId;
    const row = await sql.begin(async (tx) => {
      const repo = channelsRepo(tx);
      const old = await repo.override(channel.id, targetId);
      const changed = (allow ^ BigInt(old?.allow ?? 0)) | (deny ^ BigInt(old?.deny ?? 0));
      await authorizeOverride(tx, member, server.id, permissions, { id: targetId, type: request.body.target_type, gone: 'refuse' }, changed);
      return repo.putOverride({ channelId: channel.id, targetId, targetType: request.body.target_type, allow, deny });
    });
    publisher.emit(rooms.server(server.id), 'permissions_updated', { serverId: server.id, channelId: channel.id });
    publisher.recheckAccess(server.id);
    return presentOverride(row);
  });

  app.delete('/api/channels/:channelId/permissions/:targetId', { schema: schema.deleteOverride }, async (request, reply) => {
    const { channel, server, member, permissions } = await guard.channel(request.params.channelId, request.user.id, Flags.MANAGE_CHANNELS);
    const targetId = request.params.targetId;
    await sql.begin(async (tx) => {
      const repo = channelsRepo(tx);
      const old = await repo.override(channel.id, targetId);
      if (!old) throw notFound('Override');
      const bits = BigInt(old.allow) | BigInt(old.deny);
      await authorizeOverride(tx, member, server.id, permissions, { id: targetId, type: old.target_type, gone: 'allow' }, bits);
      await repo.deleteOverride(channel.id, targetId);
    });
    publisher.emit(rooms.server(server.id), 'permissions_updated', { serverId: server.id, channelId: channel.id });
    publisher.recheckAccess(server.id);
    return reply.status(204).send(null);
  });
}
