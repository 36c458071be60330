// The gateway: socket.io on the shared Redis adapter (classic or sharded). It authenticates each
// handshake from the API's session cookie, puts the socket in its personal and session rooms,
// limits how fast it may send (limits.ts), checks every room join (handlers/rooms.ts), and runs
// presence, typing and voice (handlers/presence.ts, typing.ts, voice.ts; their state is in
// Redis). It never writes the database.
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '@nexusguild/shared/events';
import { rooms } from '@nexusguild/shared/events';
import { isAllowedOrigin } from '@nexusguild/shared/origins';
import { closeRedis, createRedis, tolerateUnawaitedCommands } from '@nexusguild/shared/redis';
import type { Resources } from '@nexusguild/shared/runtime';
import { sessionCookieReader } from '@nexusguild/shared/sessions';
import { presenceNode, type PresenceNode } from './handlers/presence.ts';
import { roomHandlers } from './handlers/rooms.ts';
import { attachTyping } from './handlers/typing.ts';
import { voiceHandlers } from './handlers/voice.ts';
import { limitEvents } from './limits.ts';
import { watchGateway } from './metrics.ts';

export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type GatewayDeps = Pick<Resources, 'config' | 'redis' | 'keys' | 'sql' | 'log'>;

export interface Gateway {
  io: GatewayServer;
  /** This process as a presence node (its heartbeat and its sockets' registrations). */
  presence: PresenceNode;
  close(): Promise<void>;
}

/**
 * The upgrade request stays reachable for the connection's life (engine.io's WebSocketResponse
 * holds it from a 'close' listener on the TCP socket, which we cannot unhook), and its headers
 * are most of the ~4 KB it costs a socket. Nothing needs them after authentication: drop our
 * references and empty the header storage the request itself keeps.
 */
function releaseHandshake(socket: GatewaySocket) {
  const request = socket.request as IncomingMessage;
  request.headers = {};
  request.rawHeaders = [];
  (socket.conn as unknown as { request: unknown }).request = null;
  socket.handshake.headers = {};
}

export function createGateway(httpServer: HttpServer, { config, redis, keys, sql, log }: GatewayDeps): Gateway {
  // Adapter traffic must not wait for auto-pipelining: it would also reorder it behind QUIT at
  // shutdown. The adapter never awaits publish/subscribe: an outage must not crash the gateway.
  const adapterClient = () => tolerateUnawaitedCommands(createRedis(config.redisUrl, { enableAutoPipelining: false }));
  const [pub, sub] = [adapterClient(), adapterClient()];
  const sessions = sessionCookieReader(redis, keys, config.sessionSecret);

  const io: GatewayServer = new Server(httpServer, {
    path: '/socket.io/',
    pingInterval: 25_000,
    pingTimeout: 20_000,
    maxHttpBufferSize: 16 * 1024, // clients send ids and small objects only
    cors: { origin: config.corsOrigins, credentials: true },
    // Browsers send Origin on websocket upgrades and polling; refuse foreign ones before anything else.
    allowRequest: (req, callback) => callback(null, isAllowedOrigin(req.headers.origin, req.headers.host, config.corsOrigins)),
    adapter: config.redisAdapter === 'sharded'
      ? createShardedAdapter(pub, sub, { channelPrefix: keys.socketio, subscriptionMode: 'dynamic' })
      : createAdapter(pub, sub, { key: keys.socketio }),
  });

  io.use((socket, next) => {
    sessions.read(socket.handshake.headers.cookie).then(
      (session) => {
        if (!session) return next(new Error('Authentication error'));
        socket.data = { userId: session.data.userId, username: session.data.username, sid: session.sid };
        releaseHandshake(socket);
        next();
      },
      () => next(new Error('Service unavailable')),
    );
  });

  const unwatch = watchGateway(io); // gateway_connected_sockets counts this server's sockets

  const presence = presenceNode(io, { config, redis, keys, sql, log });
  const voice = voiceHandlers(io, presence, { sql, redis, keys, log });
  const attachRoomHandlers = roomHandlers(io, sql, log, voice.snapshot);
  io.on('connection', (socket: GatewaySocket) => {
    socket.join([rooms.user(socket.data.userId), rooms.session(socket.data.sid)]);
    limitEvents(socket);
    attachRoomHandlers(socket);
    attachTyping(socket);
    voice.attach(socket);
    presence.attach(socket);
  });

  return {
    io,
    presence,
    async close() {
      // Closes this node's sockets only (clients reconnect to another gateway) and its HTTP server.
      // Its users' presence and voice states are cleaned up (and announced) first.
      unwatch();
      await presence.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await Promise.all([closeRedis(pub), closeRedis(sub)]);
    },
  };
}
