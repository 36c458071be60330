// Fixtures for guild tests: a server with an owner and members, made through the real REST routes.
import type { TestEnv } from './harness.ts';

export interface Registered {
  user: { id: string; username: string; email: string };
  cookie: string;
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
