// Voice (LiveKit): access tokens for a server voice channel and for a DM call, and LiveKit's
// webhook, which reconciles the voice state (shared/voice.ts) with who LiveKit says left.
import { isId } from '@nexusguild/shared/ids';
import { createLiveKit } from '@nexusguild/shared/livekit';
import { Flags, has } from '@nexusguild/shared/permissions';
import { accessRepo } from '@nexusguild/shared/repos/access';
import { usersRepo } from '@nexusguild/shared/repos/users';
import { voiceStore } from '@nexusguild/shared/voice';
import type { App, ApiDeps } from '../../app.ts';
import { HttpError, badRequest, forbidden, notFound, unavailable } from '../../errors.ts';
import { demand, guards } from '../../guards.ts';
import { announceVoiceEnded } from '../../publish.ts';
import * as schema from './schema.ts';

/** LiveKit's webhook content type. */
const WEBHOOK_TYPE = 'application/webhook+json';

export async function voiceRoutes(app: App, { config, sql, redis, keys, publisher }: ApiDeps) {
  const livekit = createLiveKit(config.livekit);
  const guard = guards(sql);
  const users = usersRepo(sql);
  const voice = voiceStore(redis, keys);
  const configured = () => {
    if (!livekit) throw unavailable('Voice is not configured');
    return livekit;
  };

  app.get('/api/voice/token/:channelId', { schema: schema.token }, async (request) => {
    const lk = configured();
    const userId = request.user.id;
    const { channel, server, permissions } = await guard.channel(request.params.channelId, userId);
    if (channel.type !== 'voice') throw badRequest('Not a voice channel');
    demand(permissions, Flags.CONNECT);
    const name = (await users.displayName(userId, server.id)) ?? request.user.username;
    const token = await lk.token({ identity: userId, name, room: channel.id, canPublish: has(permissions, Flags.SPEAK) });
    return { token, url: lk.url, channelId: channel.id };
  });

  app.get('/api/voice/dm-token/:dmId', { schema: schema.dmToken }, async (request) => {
    const lk = configured();
    const { dmId } = request.params;
    const found = await users.dmParticipation(dmId, request.user.id);
    if (!found) throw notFound('Conversation');
    if (!found.participant) throw forbidden('You are not in this conversation');
    const token = await lk.token({ identity: request.user.id, name: request.user.username, room: `dm_${dmId}`, canPublish: true });
    return { token, url: lk.url, dmId };
  });

  // The signature covers the body's exact bytes: this route alone reads it as a string.
  await app.register(async (scope) => {
    scope.addContentTypeParser(WEBHOOK_TYPE, { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scope.post('/api/voice/webhook', { schema: schema.webhook, config: { public: true } }, async (request) => {
      const lk = configured();
      if (typeof request.body !== 'string') throw new HttpError(415, `Expected ${WEBHOOK_TYPE}`);
      const event = await lk.receive(request.body, request.headers.authorization).catch(() => {
        throw new HttpError(401, 'Invalid webhook signature');
      });
      const room = event.room?.name ?? '';
      if (!isId(room)) return { ok: true }; // a DM call (dm_<id>) or not ours: no state to reconcile
      if (event.event === 'participant_left') {
        const userId = event.participant?.identity ?? '';
        const ended = isId(userId) ? await voice.end(userId, { channelId: room }) : null;
        if (ended) await announceVoiceEnded({ sql, publisher }, [ended]);
      } else if (event.event === 'room_finished') {
        const channel = await accessRepo(sql).channel(room);
        if (channel) await announceVoiceEnded({ sql, publisher }, await voice.clear(channel.server_id, channel.id));
      }
      return { ok: true };
    });
  });
}
