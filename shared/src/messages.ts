// Owns what a message is on the wire and in text: the row → Message Object presenter (shared,
// because the API and the worker both emit full messages) and its DM form, and the mention syntax (<@id>, @username, @everyone/@here) resolved at send time.
import { uploadUrl } from './storage.ts';
import type { AttachmentObject, ConversationType, DmMessageObject, MessageObject } from './wire.ts';

/** Content limit in characters, measured after trimming (decisions, Limits; G17). */
export const MAX_CONTENT = 2000;

/** An attachment as the message query aggregates it (json_agg: ids as text, size as a number). */
export interface AttachmentJson {
  id: string;
  filename: string;
  storage_key: string;
  content_type: string;
  size: number;
  width: number | null;
  height: number | null;
  thumbnail_key: string | null;
}

/** One message with everything its Message Object shows, as the messages repo reads it. */
export interface MessageRow {
  id: string;
  channel_id: string;
  user_id: string | null;
  username: string | null;
  display_name: string | null;
  avatar: string | null;
  content: string;
  created_at: Date;
  edited_at: Date | null;
  pinned_at: Date | null;
  pinned_by: string | null;
  pinned_by_username: string | null;
  reply_to_id: string | null;
  reply_to_content: string | null;
  reply_to_username: string | null;
  thread_channel_id: string | null;
  thread_reply_count: number;
  attachments: AttachmentJson[];
}

export function presentAttachment(a: AttachmentJson): AttachmentObject {
  return {
    id: a.id,
    url: uploadUrl(a.storage_key),
    filename: a.filename,
    size: Number(a.size),
    content_type: a.content_type,
    ...(a.width !== null ? { width: a.width } : {}),
    ...(a.height !== null ? { height: a.height } : {}),
    ...(a.thumbnail_key ? { thumbnail_url: uploadUrl(a.thumbnail_key) } : {}),
  };
}

export function presentMessage(row: MessageRow): MessageObject {
  const edited = row.edited_at?.toISOString() ?? null;
  return {
    id: row.id,
    channel_id: row.channel_id,
    user_id: row.user_id,
    username: row.username,
    display_name: row.display_name,
    avatar: row.avatar,
    content: row.content,
    attachments: row.attachments.map(presentAttachment),
    created_at: row.created_at.toISOString(),
    // The guide's `updated_at` and the original's `edited_at` are the same instant (decisions).
    updated_at: edited,
    edited_at: edited,
    is_pinned: row.pinned_at !== null,
    reply_to_id: row.reply_to_id,
    reply_to_content: row.reply_to_content,
    reply_to_username: row.reply_to_username,
    thread_channel_id: row.thread_channel_id,
    thread_reply_count: row.thread_reply_count,
  };
}

/** A message of a DM or group DM: the same Message Object under the names DM clients read too. */
export function presentDmMessage(message: MessageObject, type: ConversationType): DmMessageObject {
  return { ...message, dm_id: message.channel_id, sender_id: message.user_id, type };
}

/** A pinned message as the pins list shows it. */
export interface PinnedMessageObject extends MessageObject {
  pinned_at: string;
  pinned_by: string | null;
  pinned_by_username: string | null;
}

export function presentPinned(row: MessageRow): PinnedMessageObject {
  return {
    ...presentMessage(row),
    pinned_at: (row.pinned_at ?? row.created_at).toISOString(),
    pinned_by: row.pinned_by,
    pinned_by_username: row.pinned_by_username,
  };
}

// A mention is a whole word: not glued to a letter, digit or underscore on either side.
const WORD = /[\p{L}\p{N}_]/u;
const EVERYONE = /(?<![\p{L}\p{N}_])@(everyone|here)(?![\p{L}\p{N}_])/u;
const USER_TAG = /<@!?([0-9]{1,20})>/g;

/** Whether the text uses @everyone or @here. */
export const mentionsEveryone = (content: string) => EVERYONE.test(content);

/** The ids written as <@id> (or Discord's <@!id>), deduplicated. */
export function taggedIds(content: string): string[] {
  return [...new Set([...content.matchAll(USER_TAG)].map((m) => m[1]!))];
}

/** Whether `content` holds `@name` as a whole word (usernames may hold spaces; case-insensitive). */
export function mentionsName(content: string, name: string): boolean {
  const text = content.toLowerCase();
  const needle = `@${name.toLowerCase()}`;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
    const before = text[at - 1];
    const after = text[at + needle.length];
    if ((before === undefined || !WORD.test(before)) && (after === undefined || !WORD.test(after))) return true;
  }
  return false;
}
