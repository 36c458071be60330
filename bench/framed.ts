// A socket.io client for Node made of the k6 scenarios' pure framing (k6/lib/socketio.ts) over
// the `ws` package: the same protocol code k6 runs, exercised here by the load driver's
// receivers and by the framing's unit test. Lighter than socket.io-client (no Manager, no
// reconnection), which matters when one process holds thousands of idle sockets.
import WebSocket from 'ws';
import { createSession, socketUrl, type Session } from '../k6/lib/socketio.ts';

export interface FramedSocket {
  session: Session;
  ws: WebSocket;
  /** Resolves with the reason when the server or the transport ends the connection. */
  closed: Promise<string>;
  close(): void;
}

/**
 * Opens a websocket to `baseUrl`'s socket.io, connects the namespace and resolves once connected
 * (rejects with the server's connect_error message, or when the transport fails first).
 */
export function connectFramed(baseUrl: string, options: { cookie?: string; auth?: Record<string, unknown>; nsp?: string } = {}): Promise<FramedSocket> {
  const headers: Record<string, string> = options.cookie ? { cookie: options.cookie } : {};
  const ws = new WebSocket(socketUrl(baseUrl, '/socket.io/'), { headers, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    let settled = false;
    let ended: (reason: string) => void = () => {};
    const closed = new Promise<string>((r) => (ended = r));
    const session = createSession({
      send: (frame) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      },
      nsp: options.nsp,
      auth: options.auth,
      onConnect: () => {
        settled = true;
        resolve({ session, ws, closed, close: () => { session.close(); ws.close(); } });
      },
      onError: (message) => {
        if (!settled) {
          settled = true;
          ws.close();
          reject(new Error(message));
        }
      },
      onDisconnect: (reason) => ended(reason),
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) session.receive(data.toString());
    });
    ws.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    ws.on('close', () => {
      ended('transport close');
      if (!settled) {
        settled = true;
        reject(new Error('websocket closed before the namespace connected'));
      }
    });
  });
}
