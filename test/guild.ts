// Fixtures for guild tests: a server with an owner and members, made through the real REST routes.
import type { Test } from 'tap';
import type { TestEnv, TestSocket } from './harness.ts';

export interface Registered {
  user: { id: string; username: string; email: string };
  cookie: string;
}

export interface RoleFixture {
  id: string;
  name: string;
  position: number;
  permissions: string;
}

export interface GuildFixture {
  server: { id: string; name: string; owner_id: string };
  owner: Registered;
  /** The server's default text channel, `general`. */
  general: { id: string; name: string };
}

/** Registers an owner and creates a server (with the default channels). */
export async function createGuild(env: TestEnv, name = 'guild'): Promise<GuildFixture> {
  const owner = await env.register(`${name}owner`);
  const created = await env.request('POST', '/api/servers', { cookie: owner.cookie, json: { name } });
  if (created.status !== 201) throw new Error(`create server failed: ${created.status} ${JSON.stringify(created.body)}`);
  const channels = await env.request('GET', `/api/channels/${created.body.id}`, { cookie: owner.cookie });
  const general = Array.isArray(channels.body) ? channels.body.find((c: { name: string }) => c.name === 'general') : undefined;
  return { server: created.body, owner, general: general ?? { id: '', name: 'general' } };
}

/** Registers a user (or takes `user`) and makes them a member through an invite from the owner. */
export async function addMember(env: TestEnv, guild: GuildFixture, user?: Registered): Promise<Registered> {
  const member = user ?? (await env.register('member'));
  const invite = await env.request('POST', `/api/servers/${guild.server.id}/invites`, { cookie: guild.owner.cookie, json: {} });
  if (invite.status !== 201) throw new Error(`create invite failed: ${invite.status} ${JSON.stringify(invite.body)}`);
  const joined = await env.request('POST', '/api/servers/join', { cookie: member.cookie, json: { code: invite.body.code } });
  if (joined.status !== 200) throw new Error(`join failed: ${joined.status} ${JSON.stringify(joined.body)}`);
  return member;
}

/** Creates a role through the API (by default as the owner, so at the top) and returns it. */
export async function createRole(env: TestEnv, guild: GuildFixture, json: Record<string, unknown> = {}, cookie = guild.owner.cookie): Promise<RoleFixture> {
  const res = await env.request('POST', `/api/servers/${guild.server.id}/roles`, { cookie, json });
  if (res.status !== 201) throw new Error(`create role failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Gives `roleId` to the member `userId`, as the owner. */
export async function assignRole(env: TestEnv, guild: GuildFixture, userId: string, roleId: string): Promise<void> {
  const res = await env.request('PUT', `/api/servers/${guild.server.id}/members/${userId}/roles/${roleId}`, { cookie: guild.owner.cookie });
  if (res.status !== 200) throw new Error(`assign failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Creates a role with `permissions` as the owner (so at the top) and gives it to `member`. */
export async function grantRole(env: TestEnv, guild: GuildFixture, member: Registered, permissions: bigint, name = 'role'): Promise<RoleFixture> {
  const role = await createRole(env, guild, { name, permissions: permissions.toString() });
  await assignRole(env, guild, member.user.id, role.id);
  return role;
}

/** A new member holding one new role with `permissions` (created by the owner, so at the top). */
export async function memberWith(env: TestEnv, guild: GuildFixture, permissions: bigint, name = 'Mod'): Promise<Registered & { role: RoleFixture }> {
  const member = await addMember(env, guild);
  const role = await grantRole(env, guild, member, permissions, name);
  return { ...member, role };
}

/** A message sent to a server channel through the real route (a JSON body); throws unless it is created. */
export async function sendMessage(env: TestEnv, channelId: string, who: Registered, json: Record<string, unknown>) {
  const res = await env.request('POST', `/api/messages/${channelId}`, { cookie: who.cookie, json });
  if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export type RoomEvent = 'join_server' | 'leave_server' | 'join_channel' | 'leave_channel';
export type RoomAck = { ok: true } | { ok: false; error: string };

/** Emits a room event (join or leave a server or channel room) and resolves with the gateway's ack. */
export function roomAck(socket: TestSocket, event: RoomEvent, arg: unknown, timeoutMs = 3000): Promise<RoomAck> {
  // Untyped on purpose: tests send malformed arguments too.
  const untyped = socket as unknown as { emit(e: string, a: unknown, cb: (r: RoomAck) => void): void };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event} within ${timeoutMs} ms`)), timeoutMs);
    untyped.emit(event, arg, (reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** A new socket of `cookie` in the server's room (through the gateway's checked join), closed when `t` ends. */
export async function listenToServer(env: TestEnv, t: Test, cookie: string, serverId: string): Promise<TestSocket> {
  const socket = await env.connect(cookie);
  t.teardown(() => socket.close());
  t.same(await roomAck(socket, 'join_server', serverId), { ok: true }, 'joined the server room');
  return socket;
}
