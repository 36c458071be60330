// Owns SQL for channel messages and their attachments: complete Message Objects for a list of ids
// or a history page in one round trip each (author, nickname, reply, thread and attachments joined
// in, never a query per message), and the writes of send, edit, delete and pin. Multi-statement
// changes run inside the caller's transaction (pass a `Tx` as `sql`).
import type { PendingQuery, Row } from 'postgres';
import type { Db } from '../db/index.ts';
import { mentionsName, presentMessage, presentPinned, taggedIds, type MessageRow, type PinnedMessageObject } from '../messages.ts';
import type { MessageObject } from '../wire.ts';

/** What guards need to know about a message: where it lives and who wrote it. */
export interface MessageRef {
  id: string;
  channel_id: string;
  /** Null for a DM's message. */
  server_id: string | null;
  author_id: string | null;
  /** Whether it has attachments (an edit may then empty its text). */
  has_attachments: boolean;
}

/** A history page: `before` and `after` are exclusive cursors; the page is always oldest→newest. */
export interface PageQuery {
  limit: number;
  before?: string;
  after?: string;
}

export interface NewMessage {
  id: string;
  channelId: string;
  authorId: string;
  content: string;
  replyToId: string | null;
  mentionEveryone: boolean;
  mentions: string[];
}

export interface NewAttachment {
  id: string;
  filename: string;
  storageKey: string;
  contentType: string;
  size: number;
}

export function messagesRepo(sql: Db) {
  /**
   * Message rows with everything the Message Object shows. The server's nicknames come from the
   * message's channel's server (none for DMs); the thread is the channel hanging off the message.
   */
  const rows = (where: PendingQuery<Row[]>, order: PendingQuery<Row[]>, page?: PendingQuery<Row[]>) => sql<MessageRow[]>`
    SELECT m.id, m.channel_id, m.author_id AS user_id, u.username, sm.nickname AS display_name, u.avatar,
      m.content, m.created_at, m.edited_at, m.pinned_at, m.pinned_by, pu.username AS pinned_by_username,
      m.reply_to_id, r.content AS reply_to_content, COALESCE(rm.nickname, ru.username) AS reply_to_username,
      t.id AS thread_channel_id,
      CASE WHEN t.id IS NULL THEN 0 ELSE (SELECT count(*)::int FROM messages tm WHERE tm.channel_id = t.id) END AS thread_reply_count,
      COALESCE((
        SELECT json_agg(json_build_object('id', a.id::text, 'filename', a.filename, 'storage_key', a.storage_key,
                                          'content_type', a.content_type, 'size', a.size, 'width', a.width, 'height', a.height,
                                          'thumbnail_key', a.thumbnail_key)
                        ORDER BY a.id)
        FROM attachments a WHERE a.message_id = m.id
      ), '[]') AS attachments
    FROM ${page ? sql`(${page}) page JOIN messages m ON m.id = page.id` : sql`messages m`}
    JOIN channels c ON c.id = m.channel_id
    LEFT JOIN users u ON u.id = m.author_id
    LEFT JOIN server_members sm ON sm.server_id = c.server_id AND sm.user_id = m.author_id
    LEFT JOIN users pu ON pu.id = m.pinned_by
    LEFT JOIN messages r ON r.id = m.reply_to_id
    LEFT JOIN users ru ON ru.id = r.author_id
    LEFT JOIN server_members rm ON rm.server_id = c.server_id AND rm.user_id = r.author_id
    LEFT JOIN channels t ON t.parent_message_id = m.id
    WHERE ${where}
    ORDER BY ${order}`;

  /** The stored objects (each file and its thumbnail) of the attachments of the messages `where` picks. */
  const attachmentKeys = async (where: PendingQuery<Row[]>): Promise<string[]> => {
    const found = await sql<{ key: string }[]>`
      SELECT unnest(array_remove(ARRAY[a.storage_key, a.thumbnail_key], NULL)) AS key
      FROM messages m JOIN attachments a ON a.message_id = m.id
      WHERE ${where}`;
    return found.map((k) => k.key);
  };

  return {
    /**
     * One full Message Object, or null when it does not exist. By `m.id = $1` (not `ANY` of a list):
     * the prepared statement's generic plan then expects one row and probes indexes, 0.1 ms where
     * a list's hash joins took 0.5 ms (bench/RESULTS.md).
     */
    async one(id: string): Promise<MessageObject | null> {
      const [row] = await rows(sql`m.id = ${id}`, sql`m.id`);
      return row ? presentMessage(row) : null;
    },

    /**
     * One page of a channel's history, oldest→newest: with `after`, the oldest `limit` messages
     * after it (up to `before` when both are given); otherwise the newest `limit` before `before`.
     */
    async page(channelId: string, { limit, before, after }: PageQuery): Promise<MessageObject[]> {
      const bounds = sql`channel_id = ${channelId}
        ${before ? sql`AND id < ${before}` : sql``}
        ${after ? sql`AND id > ${after}` : sql``}`;
      // The page's ids come from the (channel_id, id) index range; the rest is joined per id. The
      // page is a derived table (FROM, not `m.id IN (...)`): its LIMIT keeps the planner from
      // hash-joining every message of the database before picking the page's 50 (EXPLAIN
      // ANALYZE at 3,500 messages: 14–40 ms that way, 1.4 ms this way; see bench/RESULTS.md).
      const ids = after
        ? sql`SELECT id FROM messages WHERE ${bounds} ORDER BY id ASC LIMIT ${limit}`
        : sql`SELECT id FROM messages WHERE ${bounds} ORDER BY id DESC LIMIT ${limit}`;
      return (await rows(sql`TRUE`, sql`m.id`, ids)).map(presentMessage);
    },

    /** A channel's pinned messages, most recently pinned first. */
    async pins(channelId: string): Promise<PinnedMessageObject[]> {
      const found = await rows(sql`m.channel_id = ${channelId} AND m.pinned_at IS NOT NULL`, sql`m.pinned_at DESC, m.id DESC`);
      return found.map(presentPinned);
    },

    /** Where a message lives and who wrote it; null when it does not exist. */
    async find(id: string): Promise<MessageRef | null> {
      const [row] = await sql<MessageRef[]>`
        SELECT m.id, m.channel_id, c.server_id, m.author_id,
          EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id) AS has_attachments
        FROM messages m JOIN channels c ON c.id = m.channel_id
        WHERE m.id = ${id}`;
      return row ?? null;
    },

    /**
     * The members of `serverId` that `content` mentions: by <@id>, or by @username as a whole word.
     * Names are matched only for members whose name appears after an @ at all (one indexed scan of
     * the server's members), then checked word by word here.
     */
    async mentionedMembers(serverId: string, content: string): Promise<string[]> {
      if (!content.includes('@')) return [];
      const tagged = taggedIds(content);
      const found = await sql<{ id: string; username: string; tagged: boolean }[]>`
        SELECT u.id, u.username, u.id = ANY(${tagged}::bigint[]) AS tagged
        FROM server_members sm JOIN users u ON u.id = sm.user_id
        WHERE sm.server_id = ${serverId}
          AND (u.id = ANY(${tagged}::bigint[]) OR strpos(lower(${content}), '@' || lower(u.username)) > 0)`;
      return found.filter((m) => m.tagged || mentionsName(content, m.username)).map((m) => m.id);
    },

    /** Takes a channel's row lock for the length of the transaction; false when it is gone. */
    async lockChannel(channelId: string): Promise<boolean> {
      const [row] = await sql`SELECT 1 FROM channels WHERE id = ${channelId} FOR SHARE`;
      return row !== undefined;
    },

    /**
     * Writes a message and its attachments in one statement, holding the channel's row against a
     * concurrent delete (FOR KEY SHARE, as the foreign key would) without a transaction of its own:
     * 'no-channel' when the channel is gone, 'bad-reply' when the reply target is not a message of it.
     */
    async create(m: NewMessage, attachments: readonly NewAttachment[]): Promise<'created' | 'no-channel' | 'bad-reply'> {
      const files = attachments.map((a) => ({ id: a.id, filename: a.filename, storage_key: a.storageKey, content_type: a.contentType, size: a.size }));
      const [row] = await sql<{ channel: boolean; created: boolean }[]>`
        WITH c AS (SELECT id FROM channels WHERE id = ${m.channelId} FOR KEY SHARE),
        m AS (
          INSERT INTO messages (id, channel_id, author_id, content, reply_to_id, mention_everyone, mentions)
          SELECT ${m.id}, c.id, ${m.authorId}, ${m.content}, ${m.replyToId}, ${m.mentionEveryone}, ${m.mentions}::bigint[]
          FROM c
          WHERE ${m.replyToId}::bigint IS NULL
             OR EXISTS (SELECT 1 FROM messages r WHERE r.id = ${m.replyToId}::bigint AND r.channel_id = c.id)
          RETURNING id
        ),
        a AS (
          INSERT INTO attachments (id, message_id, filename, storage_key, content_type, size)
          SELECT f.id, m.id, f.filename, f.storage_key, f.content_type, f.size
          FROM m, json_to_recordset(${sql.json(files)}::json)
            AS f(id bigint, filename text, storage_key text, content_type text, size bigint)
        )
        SELECT EXISTS (SELECT 1 FROM c) AS channel, EXISTS (SELECT 1 FROM m) AS created`;
      return row.created ? 'created' : row.channel ? 'bad-reply' : 'no-channel';
    },

    /** New text and mentions, stamped as edited; false when the message is gone. */
    async edit(id: string, change: { content: string; mentionEveryone: boolean; mentions: string[] }): Promise<boolean> {
      const found = await sql`
        UPDATE messages SET content = ${change.content}, mention_everyone = ${change.mentionEveryone},
          mentions = ${change.mentions}::bigint[], edited_at = now()
        WHERE id = ${id} RETURNING 1`;
      return found.length === 1;
    },

    /**
     * Deletes a message (its reactions, attachments and thread go with it by cascade). Returns the
     * storage keys of every object that belonged to it or to its thread's messages, for removal
     * after commit, and the thread's id; null when it was already gone.
     */
    async remove(id: string): Promise<{ keys: string[]; threadId: string | null } | null> {
      const [thread] = await sql<{ id: string }[]>`SELECT id FROM channels WHERE parent_message_id = ${id} FOR UPDATE`;
      const keys = await attachmentKeys(sql`m.id = ${id} ${thread ? sql`OR m.channel_id = ${thread.id}` : sql``}`);
      const removed = await sql`DELETE FROM messages WHERE id = ${id} RETURNING 1`;
      if (!removed.length) return null;
      return { keys, threadId: thread?.id ?? null };
    },

    /**
     * The storage keys of every attachment of messages in `channelIds`, for removal after the
     * channels are deleted. Call it after locking the channels, in the deleting transaction.
     */
    async objectKeys(channelIds: readonly string[]): Promise<string[]> {
      if (!channelIds.length) return [];
      return attachmentKeys(sql`m.channel_id = ANY(${channelIds as string[]}::bigint[])`);
    },

    /** Pins (keeping the first pin's time) or unpins; true when the state changed, null when gone. */
    async setPinned(id: string, pinned: boolean, by: string): Promise<boolean | null> {
      const [row] = await sql<{ was: boolean }[]>`
        UPDATE messages n SET
          pinned_at = ${pinned ? sql`COALESCE(o.pinned_at, now())` : sql`NULL`},
          pinned_by = ${pinned ? sql`COALESCE(o.pinned_by, ${by}::bigint)` : sql`NULL`}
        FROM (SELECT id, pinned_at, pinned_by FROM messages WHERE id = ${id} FOR UPDATE) o
        WHERE n.id = o.id
        RETURNING o.pinned_at IS NOT NULL AS was`;
      return row ? row.was !== pinned : null;
    },
  };
}
