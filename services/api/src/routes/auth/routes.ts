// Auth: register, login, logout, me. Sessions live in Redis; the cookie carries only a signed id.
import { usersRepo } from '@nexusguild/shared/repos/users';
import { SESSION_COOKIE } from '@nexusguild/shared/sessions';
import type { App, ApiDeps } from '../../app.ts';
import { conflict, notFound, unauthorized } from '../../errors.ts';
import { hashPassword, verifyPassword } from '../../passwords.ts';
import { limits } from '../../plugins/rate-limit.ts';
import { startSession } from '../../plugins/session.ts';
import { presentUser } from '../../present.ts';
import { trimFields } from '../../body.ts';
import * as schema from './schema.ts';

export async function authRoutes(app: App, { sql, ids, publisher }: ApiDeps) {
  const users = usersRepo(sql);

  app.post('/api/auth/register', {
    schema: schema.register,
    config: { public: true, rateLimit: limits.register },
    preValidation: trimFields('username', 'email'),
  }, async (request, reply) => {
    const { username, email, password } = request.body;
    const user = await users.create({ id: ids.next(), username, email: email.toLowerCase(), passwordHash: await hashPassword(password) });
    if (!user) throw conflict('User with this email or username already exists');
    await startSession(request, user);
    return reply.status(201).send(presentUser(user, 'online'));
  });

  app.post('/api/auth/login', {
    schema: schema.login,
    config: { public: true, rateLimit: limits.login },
    preValidation: trimFields('email'),
  }, async (request) => {
    const { email, password } = request.body;
    const user = await users.byEmail(email.toLowerCase());
    if (!(await verifyPassword(user?.password_hash ?? null, password)) || !user) throw unauthorized('Invalid credentials');
    await startSession(request, user);
    return presentUser(user, 'online');
  });

  app.post('/api/auth/logout', { schema: schema.logout }, async (request, reply) => {
    const sid = request.session.sessionId;
    await request.session.destroy();
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    publisher.endSession(sid); // the sockets this session opened close too
    return { message: 'Logout successful' };
  });

  app.get('/api/auth/me', { schema: schema.me }, async (request) => {
    const user = await users.byId(request.user.id);
    if (!user) throw notFound('User');
    return presentUser(user, 'online');
  });
}
