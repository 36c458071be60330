// The ceiling of this machine for the fan-out path: a bare socket.io server (the gateway's
// server options, no database, no auth, no Redis) with the one REST route chat-fanout drives,
// POST /api/messages/:channelId, which broadcasts a message-shaped `message_created` to the
// channel's room and answers 201, and the one socket event it needs, join_channel. The bench's
// `ceiling` scenario starts it as a child process and drives it exactly as it drives the real
// service. Usage: node --import tsx bench/ceiling-server.ts <port>
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { rooms } from '@nexusguild/shared/events';
import type { MessageObject } from '@nexusguild/shared/wire';

const http = createServer((req, res) => {
  const match = /^\/api\/messages\/(\d{1,20})$/.exec(req.url ?? '');
  if (req.method !== 'POST' || !match) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const content = /name="content"\r\n\r\n([\s\S]*?)\r\n--/.exec(body)?.[1] ?? '';
    const now = new Date().toISOString();
    const message: MessageObject = {
      id: String(++sequence), channel_id: match[1], user_id: '1', username: 'ceiling', display_name: null, avatar: null,
      content, attachments: [], created_at: now, updated_at: null, edited_at: null, is_pinned: false,
      reply_to_id: null, reply_to_content: null, reply_to_username: null, thread_channel_id: null, thread_reply_count: 0,
    };
    io.to(rooms.channel(match[1])).emit('message_created', message);
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(message));
  });
});
let sequence = 0;

const io = new Server(http, { path: '/socket.io/', pingInterval: 25_000, pingTimeout: 20_000, maxHttpBufferSize: 16 * 1024 });
io.on('connection', (socket) => {
  socket.on('join_channel', (id: unknown, ack?: (r: { ok: boolean }) => void) => {
    if (typeof id === 'string') void socket.join(rooms.channel(id));
    ack?.({ ok: typeof id === 'string' });
  });
});

http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`ready ${(http.address() as AddressInfo).port}`));
process.on('SIGTERM', () => io.close(() => process.exit(0)));
