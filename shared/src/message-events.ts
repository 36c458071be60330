// Owns where a message's events go, for the API and the worker alike: a server channel's message to
// the channel room (message_*), a DM's or group DM's to each participant's personal room (dm_message_*,
// in the DM form of the same Message Object), so no socket outside the conversation hears of it.
import type { Db } from './db/index.ts';
import { rooms } from './events.ts';
import { presentDmMessage } from './messages.ts';
import type { Publisher } from './publisher.ts';
import { dmsRepo, type Conversation } from './repos/dms.ts';
import type { ConversationType, MessageObject } from './wire.ts';

/** A message's place: a server channel, or a conversation with its participants. */
export type MessagePlace = { kind: 'channel' } | { kind: 'conversation'; conversation: Conversation };

/** Known without a query by routes that already checked a server channel. */
export const SERVER_CHANNEL: MessagePlace = { kind: 'channel' };

export const conversationType = (c: Conversation): ConversationType => (c.type === 'dm' ? 'dm' : 'group');

/** Each participant's personal room. */
export const participantRooms = (c: Conversation) => c.participants.map(rooms.user);

export function messageEvents(sql: Db, publisher: Publisher) {
  /** Where the messages of `channelId` go: a conversation's participants, else the channel room. */
  async function placeOf(channelId: string): Promise<MessagePlace> {
    const conversation = await dmsRepo(sql).conversation(channelId);
    return conversation ? { kind: 'conversation', conversation } : SERVER_CHANNEL;
  }

  return {
    placeOf,

    /** An edited (or newly processed) message, to whoever may see it; `place` when the caller knows it. */
    async updated(message: MessageObject, place?: MessagePlace): Promise<void> {
      const at = place ?? (await placeOf(message.channel_id));
      if (at.kind === 'channel') return publisher.emit(rooms.channel(message.channel_id), 'message_updated', message);
      const { conversation } = at;
      publisher.emit(participantRooms(conversation), 'dm_message_updated', presentDmMessage(message, conversationType(conversation)));
    },
  };
}
