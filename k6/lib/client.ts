// Owns the k6 side of the socket.io client: k6's WebSocket (k6/websockets, k6 ≥ v1.0) carrying the
// pure framing of socketio.ts. All protocol work is in socketio.ts, tested in Node against a real
// socket.io server; this file only moves frames.
import { check } from 'k6';
import { setTimeout, clearTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { createSession, socketUrl, type Session } from './socketio.ts';

export interface Handlers {
  /** The namespace is connected: emit from here. */
  onConnect(session: Session, ws: WebSocket): void;
  onError?(message: string): void;
  onDisconnect?(reason: string): void;
}

/** Opens a socket.io connection to `baseUrl` authenticated by the session cookie `cookie`. */
export function connect(baseUrl: string, cookie: string, handlers: Handlers): { ws: WebSocket; session: Session } {
  const ws = new WebSocket(socketUrl(baseUrl), null, { headers: { cookie } });
  let closed = false;
  const session = createSession({
    send: (frame) => {
      if (!closed) ws.send(frame);
    },
    onConnect: () => handlers.onConnect(session, ws),
    onError: (message) => handlers.onError?.(message),
    onDisconnect: (reason) => handlers.onDisconnect?.(reason),
  });
  ws.onmessage = (event) => {
    if (event && typeof event.data === 'string') session.receive(event.data);
  };
  ws.onerror = (event) => handlers.onError?.(event ? event.error : 'websocket error');
  ws.onclose = () => {
    closed = true;
    handlers.onDisconnect?.('transport close');
  };
  return { ws, session };
}

/** Leaves cleanly: socket.io disconnect, Engine.IO close, then the websocket. */
export function disconnect(conn: { ws: WebSocket; session: Session }): void {
  conn.session.close();
  conn.ws.close();
}

/**
 * One short-lived socket: `joins` runs once connected and calls `done` when its work is
 * acknowledged; then, or on a socket error, or after `timeoutMs` (each a failed check), it leaves.
 */
export function connectOnce(baseUrl: string, cookie: string, timeoutMs: number, joins: (session: Session, done: () => void) => void): void {
  const conn = connect(baseUrl, cookie, {
    onConnect: (session) => joins(session, done),
    onError(message) {
      check(message, { 'socket without error': () => false });
      done();
    },
  });
  const timer = setTimeout(() => {
    check(null, { [`joined within ${timeoutMs / 1000} s`]: () => false });
    disconnect(conn);
  }, timeoutMs);
  function done() {
    clearTimeout(timer);
    disconnect(conn);
  }
}
