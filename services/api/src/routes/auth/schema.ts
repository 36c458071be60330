import { Type } from '@fastify/type-provider-typebox';
import { MessageBody, UserRef, errors } from '../../schemas.ts';

// Usernames: 2–32 characters after trimming, printable (no C0/C1 controls), without '@' or '#' (mention syntax).
const Username = Type.String({ minLength: 2, maxLength: 32, pattern: '^[^@#\\u0000-\\u001f\\u007f-\\u009f]+$' });
const Email = Type.String({ format: 'email', maxLength: 255 });

export const register = {
  tags: ['auth'],
  body: Type.Object({ username: Username, email: Email, password: Type.String({ minLength: 8, maxLength: 128 }) }),
  response: { 201: UserRef, ...errors(400, 409, 429) },
};

export const login = {
  tags: ['auth'],
  body: Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 128 }) }),
  response: { 200: UserRef, ...errors(400, 401, 429) },
};

export const logout = { tags: ['auth'], response: { 200: MessageBody, ...errors(401) } };

export const me = { tags: ['auth'], response: { 200: UserRef, ...errors(401, 404) } };
