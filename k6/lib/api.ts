// Owns the REST calls of the k6 scenarios: accounts (register, login with the session cookie, as
// the guide's startup sequence does), a server with members through an invite, and messages.
import http from 'k6/http';
import { account, cookiePair, multipart, type Settings } from './scenarios.ts';

export interface User {
  id: string;
  cookie: string;
}

function expect(res: http.RefinedResponse<http.ResponseType | undefined>, status: number, what: string) {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${String(res.body).slice(0, 200)}`);
}

/** The session cookie a response set (the VU's jar also keeps it; sockets need it explicitly). */
function sessionCookie(res: http.RefinedResponse<http.ResponseType | undefined>): string {
  const pair = cookiePair(res.headers['Set-Cookie']);
  if (!pair) throw new Error('no session cookie in the response');
  return pair;
}

export function register(s: Settings, role: string, i: number): User {
  const a = account(s, role, i);
  const res = http.post(`${s.baseUrl}/api/auth/register`, JSON.stringify(a), { headers: { 'content-type': 'application/json' }, tags: { name: 'register' } });
  expect(res, 201, 'register');
  return { id: (res.json() as { id: string }).id, cookie: sessionCookie(res) };
}

export function login(s: Settings, role: string, i: number): User {
  const a = account(s, role, i);
  const res = http.post(`${s.baseUrl}/api/auth/login`, JSON.stringify({ email: a.email, password: a.password }), {
    headers: { 'content-type': 'application/json' },
    tags: { name: 'login' },
  });
  expect(res, 200, 'login');
  return { id: (res.json() as { id: string }).id, cookie: sessionCookie(res) };
}

/** A server owned by `owner` with its `general` channel, and an invite code for members. */
export function createGuild(s: Settings, owner: User): { serverId: string; channelId: string; code: string } {
  const headers = { cookie: owner.cookie };
  const created = http.post(`${s.baseUrl}/api/servers`, JSON.stringify({ name: `load ${s.runId}` }), { headers: { ...headers, 'content-type': 'application/json' } });
  expect(created, 201, 'create server');
  const serverId = (created.json() as { id: string }).id;
  const channels = http.get(`${s.baseUrl}/api/channels/${serverId}`, { headers });
  expect(channels, 200, 'list channels');
  const general = (channels.json() as { id: string; name: string }[]).find((c) => c.name === 'general');
  if (!general) throw new Error('the new server has no general channel');
  const invite = http.post(`${s.baseUrl}/api/servers/${serverId}/invites`, '{}', { headers: { ...headers, 'content-type': 'application/json' } });
  expect(invite, 201, 'create invite');
  return { serverId, channelId: general.id, code: (invite.json() as { code: string }).code };
}

export function joinGuild(s: Settings, user: User, code: string): void {
  const res = http.post(`${s.baseUrl}/api/servers/join`, JSON.stringify({ code }), { headers: { cookie: user.cookie, 'content-type': 'application/json' } });
  expect(res, 200, 'join server');
}

/** Sends a text message as the guide does (multipart/form-data). */
export function sendMessage(s: Settings, user: User, channelId: string, content: string) {
  const { body, contentType } = multipart({ content });
  return http.post(`${s.baseUrl}/api/messages/${channelId}`, body, { headers: { cookie: user.cookie, 'content-type': contentType }, tags: { name: 'send' } });
}

export function readHistory(s: Settings, user: User, channelId: string, before?: string) {
  const query = before ? `?limit=${s.limit}&before=${before}` : `?limit=${s.limit}`;
  return http.get(`${s.baseUrl}/api/messages/${channelId}${query}`, { headers: { cookie: user.cookie }, tags: { name: 'history' } });
}
