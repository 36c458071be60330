// Owns LiveKit (livekit-server-sdk): minting a voice room's access token and verifying LiveKit's
// webhooks, both with the configured API key and secret. Null config: voice is not configured.
import { AccessToken, WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import type { Config } from './config.ts';

/** How long a voice token admits its holder to the room (notes §9). */
export const VOICE_TOKEN_TTL_SECONDS = 4 * 3600;

export interface VoiceGrant {
  /** The user id. */
  identity: string;
  /** Shown to the other participants: the server nickname, else the username. */
  name: string;
  /** A server voice channel's id, or `dm_<dmId>`. */
  room: string;
  canPublish: boolean;
}

export interface LiveKit {
  url: string;
  token(grant: VoiceGrant): Promise<string>;
  /** The event LiveKit posted; throws when the Authorization header does not sign this body. */
  receive(body: string, authorization: string | undefined): Promise<WebhookEvent>;
}

export function createLiveKit(config: Config['livekit']): LiveKit | null {
  if (!config) return null;
  const { apiKey, apiSecret, url } = config;
  const receiver = new WebhookReceiver(apiKey, apiSecret);
  return {
    url,
    async token({ identity, name, room, canPublish }) {
      const token = new AccessToken(apiKey, apiSecret, { identity, name, ttl: VOICE_TOKEN_TTL_SECONDS });
      token.addGrant({ roomJoin: true, room, canPublish, canSubscribe: true, canPublishData: false });
      return token.toJwt();
    },
    receive: (body, authorization) => receiver.receive(body, authorization),
  };
}
