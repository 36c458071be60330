// Owns the gateway's metrics: sockets connected to this node and events its clients send. Both
// cost nothing per socket: the count is read from the namespaces at scrape time, and received
// events are counted by the one per-socket middleware that already sees every packet (limits.ts).
import { Counter, Gauge, registry } from '@nexusguild/shared/metrics';

const gateways = new Set<{ of(nsp: '/'): { sockets: Map<string, unknown> } }>();

new Gauge({
  name: 'gateway_connected_sockets',
  help: 'Authenticated sockets connected to this gateway',
  registers: [registry],
  collect() {
    let count = 0;
    for (const io of gateways) count += io.of('/').sockets.size;
    this.set(count);
  },
});

const eventsReceived = new Counter({
  name: 'gateway_events_received_total',
  help: 'Events received from clients, by event name ("other" for events no handler takes)',
  labelNames: ['event'] as const,
  registers: [registry],
});

/** Counts a gateway's sockets in gateway_connected_sockets until it closes (the returned function). */
export function watchGateway(io: { of(nsp: '/'): { sockets: Map<string, unknown> } }): () => void {
  gateways.add(io);
  return () => gateways.delete(io);
}

/** Clients choose event names: only names a handler listens for become label values. */
export function countReceived(event: string, handled: boolean): void {
  eventsReceived.inc({ event: handled ? event : 'other' });
}
