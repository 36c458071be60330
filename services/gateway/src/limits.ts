// Owns how fast one socket may send events: a token bucket per socket, checked before any handler
// runs (the same middleware counts received events for the metrics). A client joining all its
// servers at connect (the guide's startup loop) fits in the burst; a flood is dropped (its acks
// answered "Too many requests") so it cannot load Postgres or Redis on everyone else's behalf.
import { Counter, registry } from '@nexusguild/shared/metrics';
import type { GatewaySocket } from './app.ts';
import { countReceived } from './metrics.ts';

export const EVENT_LIMIT = { burst: 250, perSecond: 25 } as const;

const dropped = new Counter({
  name: 'gateway_events_dropped_total',
  help: 'Client events dropped by the per-socket rate limit',
  registers: [registry],
});

export function limitEvents(socket: GatewaySocket, { burst, perSecond } = EVENT_LIMIT): void {
  let tokens: number = burst;
  let refilledAt = performance.now();
  socket.use((packet, next) => {
    countReceived(packet[0], socket.listenerCount(packet[0]) > 0);
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * perSecond);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return next();
    }
    dropped.inc();
    const ack = packet.at(-1);
    if (typeof ack === 'function') ack({ ok: false, error: 'Too many requests' });
  });
}
