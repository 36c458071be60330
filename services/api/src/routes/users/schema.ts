import { Type } from '@fastify/type-provider-typebox';
import { Id, MessageBody, UserRef, errors } from '../../schemas.ts';

const tags = ['users'];
const Text = (maxLength: number) => Type.Union([Type.String({ maxLength }), Type.Null()]);

/** `status` (the guide) or `custom_status` (the original client): either names the custom status. */
export const status = {
  tags,
  body: Type.Object({ status: Type.Optional(Text(128)), custom_status: Type.Optional(Text(128)) }),
  response: { 200: UserRef, ...errors(400, 401) },
};

export const password = {
  tags,
  body: Type.Object({
    currentPassword: Type.String({ minLength: 1, maxLength: 128 }),
    newPassword: Type.String({ minLength: 8, maxLength: 128 }),
  }),
  response: { 200: MessageBody, ...errors(400, 401) },
};

const Nickname = Type.Object({ nickname: Type.Optional(Text(32)) });
const NicknameReply = Type.Object({ message: Type.String(), serverId: Id, userId: Id, nickname: Type.Union([Type.String(), Type.Null()]) });

export const ownNickname = {
  tags,
  params: Type.Object({ serverId: Id }),
  body: Nickname,
  response: { 200: NicknameReply, ...errors(400, 401, 403, 404) },
};

export const memberNickname = {
  tags: ['servers'],
  params: Type.Object({ id: Id, userId: Id }),
  body: Nickname,
  response: { 200: NicknameReply, ...errors(400, 401, 403, 404) },
};
