// Owns the Socket.IO v5 protocol over Engine.IO v4, websocket transport only, as pure code: it
// imports nothing (no k6/*, no node:*), so k6 scripts (lib/client.ts wraps k6's WebSocket), the Node
// load driver (bench/) and its unit test (against a real socket.io server) all run the same
// framing. Text frames only: binary attachments (packet types 5/6) are refused, the gateway sends
// none. One namespace per session, "/" by default.
//
// Frames: Engine.IO `0{open json}` handshake, `2`/`3` ping/pong (the server pings, we answer),
// `1` close, `4<socket.io packet>` message. Socket.IO packets: `0` connect (optional auth json),
// `1` disconnect, `2[<id>]["event",...args]` event, `3<id>[...args]` ack, `4{message}` connect
// error, each prefixed by `/nsp,` when the namespace is not "/".

export const EIO_VERSION = 4;

/** The websocket URL of a socket.io server at `baseUrl` (http(s) or ws(s)), transport websocket. */
export function socketUrl(baseUrl: string, path = '/socket.io/'): string {
  // String work, not URL: k6 has no WHATWG URL global.
  const origin = baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
  return `${origin}${path}?EIO=${EIO_VERSION}&transport=websocket`;
}

/** What the server said in its Engine.IO handshake. */
export interface Handshake {
  sid: string;
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

/** One decoded frame. `event` carries an ack id when the sender waits for an answer. */
export type Frame =
  | { type: 'open'; handshake: Handshake }
  | { type: 'close' }
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'noop' }
  | { type: 'connect'; nsp: string; sid: string }
  | { type: 'connect_error'; nsp: string; message: string }
  | { type: 'disconnect'; nsp: string }
  | { type: 'event'; nsp: string; name: string; args: unknown[]; id: number | null }
  | { type: 'ack'; nsp: string; id: number; args: unknown[] };

export class ProtocolError extends Error {}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(`${what}: not JSON: ${text.slice(0, 80)}`);
  }
}

/** Decodes one websocket text frame. Throws ProtocolError on anything malformed. */
export function decode(data: string): Frame {
  switch (data[0]) {
    case '0': {
      const h = parseJson(data.slice(1), 'open') as Partial<Handshake> | null;
      if (!h || typeof h.sid !== 'string' || typeof h.pingInterval !== 'number' || typeof h.pingTimeout !== 'number') {
        throw new ProtocolError(`open: bad handshake ${data.slice(0, 80)}`);
      }
      return { type: 'open', handshake: { sid: h.sid, pingInterval: h.pingInterval, pingTimeout: h.pingTimeout, maxPayload: h.maxPayload ?? 1e6 } };
    }
    case '1': return { type: 'close' };
    case '2': return { type: 'ping' };
    case '3': return { type: 'pong' };
    case '6': return { type: 'noop' };
    case '4': return decodePacket(data.slice(1));
    default: throw new ProtocolError(`unknown Engine.IO packet: ${data.slice(0, 80)}`);
  }
}

function decodePacket(p: string): Frame {
  const kind = p[0];
  let i = 1;
  let nsp = '/';
  if (p[i] === '/') {
    const comma = p.indexOf(',', i);
    if (comma < 0) throw new ProtocolError(`packet: unterminated namespace ${p.slice(0, 80)}`);
    nsp = p.slice(i, comma);
    i = comma + 1;
  }
  let digits = '';
  while (i < p.length && p[i] >= '0' && p[i] <= '9') digits += p[i++];
  const id = digits ? Number(digits) : null;
  const rest = p.slice(i);
  switch (kind) {
    case '0': {
      const body = parseJson(rest, 'connect') as { sid?: unknown } | null;
      return { type: 'connect', nsp, sid: typeof body?.sid === 'string' ? body.sid : '' };
    }
    case '1': return { type: 'disconnect', nsp };
    case '2': {
      const args = parseJson(rest, 'event');
      if (!Array.isArray(args) || typeof args[0] !== 'string') throw new ProtocolError(`event: bad payload ${rest.slice(0, 80)}`);
      return { type: 'event', nsp, name: args[0], args: args.slice(1), id };
    }
    case '3': {
      const args = parseJson(rest, 'ack');
      if (id === null || !Array.isArray(args)) throw new ProtocolError(`ack: bad packet ${p.slice(0, 80)}`);
      return { type: 'ack', nsp, id, args };
    }
    case '4': {
      const body = parseJson(rest, 'connect_error') as { message?: unknown } | string | null;
      const message = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : 'connect error';
      return { type: 'connect_error', nsp, message };
    }
    case '5':
    case '6': throw new ProtocolError('binary packets are not supported');
    default: throw new ProtocolError(`unknown Socket.IO packet: ${p.slice(0, 80)}`);
  }
}

const prefix = (nsp: string) => (nsp === '/' ? '' : `${nsp},`);

export const encode = {
  pong: (): string => '3',
  close: (): string => '1',
  connect: (nsp = '/', auth?: Record<string, unknown>): string => `40${prefix(nsp)}${auth ? JSON.stringify(auth) : ''}`,
  disconnect: (nsp = '/'): string => `41${prefix(nsp)}`,
  event: (name: string, args: unknown[], id: number | null = null, nsp = '/'): string =>
    `42${prefix(nsp)}${id ?? ''}${JSON.stringify([name, ...args])}`,
  ack: (id: number, args: unknown[], nsp = '/'): string => `43${prefix(nsp)}${id}${JSON.stringify(args)}`,
};

export type Listener = (...args: unknown[]) => void;

export interface SessionOptions {
  /** Writes one text frame to the websocket. */
  send(frame: string): void;
  nsp?: string;
  /** Sent with the connect packet (socket.io's `auth` option). */
  auth?: Record<string, unknown>;
  /** The namespace is connected: events may be emitted. */
  onConnect?(sid: string): void;
  /** The server refused the connection (middleware error) or broke the protocol. */
  onError?(message: string): void;
  /** The server disconnected the namespace or closed the Engine.IO session. */
  onDisconnect?(reason: string): void;
}

export interface Session {
  /** Feed every text frame the websocket receives. */
  receive(data: string): void;
  /** Emits an event; a function as the last argument is called with the server's ack arguments. */
  emit(name: string, ...args: unknown[]): void;
  on(name: string, listener: Listener): void;
  off(name: string, listener: Listener): void;
  /** Leaves the namespace and closes the Engine.IO session (then close the websocket). */
  close(): void;
  readonly connected: boolean;
  readonly handshake: Handshake | null;
}

/**
 * A socket.io client session over any websocket: answers pings, connects the namespace after the
 * handshake, dispatches events to listeners (a listener receives an ack function as its last
 * argument when the server asked for one) and resolves acknowledgements.
 */
export function createSession(options: SessionOptions): Session {
  const nsp = options.nsp ?? '/';
  const listeners = new Map<string, Listener[]>();
  const acks = new Map<number, Listener>();
  let nextAck = 0;
  let connected = false;
  let handshake: Handshake | null = null;

  function fail(message: string) {
    options.onError?.(message);
  }

  function dispatch(frame: Extract<Frame, { type: 'event' }>) {
    const args = frame.args.slice();
    if (frame.id !== null) {
      const id = frame.id;
      let answered = false;
      args.push((...reply: unknown[]) => {
        if (answered) return;
        answered = true;
        options.send(encode.ack(id, reply, nsp));
      });
    }
    for (const listener of (listeners.get(frame.name) ?? []).slice()) listener(...args);
  }

  return {
    get connected() {
      return connected;
    },
    get handshake() {
      return handshake;
    },
    receive(data: string) {
      let frame: Frame;
      try {
        frame = decode(data);
      } catch (err) {
        return fail((err as Error).message);
      }
      if ('nsp' in frame && frame.nsp !== nsp) return;
      switch (frame.type) {
        case 'open':
          handshake = frame.handshake;
          return options.send(encode.connect(nsp, options.auth));
        case 'ping':
          return options.send(encode.pong());
        case 'connect':
          connected = true;
          return options.onConnect?.(frame.sid);
        case 'connect_error':
          return fail(frame.message);
        case 'event':
          return dispatch(frame);
        case 'ack': {
          const callback = acks.get(frame.id);
          if (!callback) return; // an unknown or repeated ack: ignore, as socket.io-client does
          acks.delete(frame.id);
          return callback(...frame.args);
        }
        case 'disconnect':
          connected = false;
          return options.onDisconnect?.('io server disconnect');
        case 'close':
          connected = false;
          return options.onDisconnect?.('transport close');
        case 'pong':
        case 'noop':
          return;
      }
    },
    emit(name: string, ...args: unknown[]) {
      let id: number | null = null;
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        id = nextAck++;
        acks.set(id, last as Listener);
        args = args.slice(0, -1);
      }
      options.send(encode.event(name, args, id, nsp));
    },
    on(name: string, listener: Listener) {
      const list = listeners.get(name);
      if (list) list.push(listener);
      else listeners.set(name, [listener]);
    },
    off(name: string, listener: Listener) {
      const list = listeners.get(name);
      if (!list) return;
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    },
    close() {
      if (connected) options.send(encode.disconnect(nsp));
      connected = false;
      options.send(encode.close());
      acks.clear();
    },
  };
}
