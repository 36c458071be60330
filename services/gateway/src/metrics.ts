// Owns the gateway's metrics: sockets connected to this node and events its clients send.
import { Counter, Gauge, registry } from '@nexusguild/shared/metrics';

const connectedSockets = new Gauge({
  name: 'gateway_connected_sockets',
  help: 'Authenticated sockets connected to this gateway',
  registers: [registry],
});

const eventsReceived = new Counter({
  name: 'gateway_events_received_total',
  help: 'Events received from clients, by event name ("other" for events no handler takes)',
  labelNames: ['event'] as const,
  registers: [registry],
});

/** The parts of a socket.io server and socket this needs (any typed event map fits). */
interface Socket {
  on(event: 'disconnect', listener: () => void): unknown;
  onAny(listener: (event: string) => void): unknown;
  listenerCount(event: string): number;
}

export function instrumentGateway(io: { on(event: 'connection', listener: (socket: Socket) => void): unknown }): void {
  io.on('connection', (socket) => {
    connectedSockets.inc();
    socket.on('disconnect', () => connectedSockets.dec());
    // Clients choose event names: only names a handler listens for become label values, so a
    // client cannot grow the number of series.
    socket.onAny((event: string) => eventsReceived.inc({ event: socket.listenerCount(event) > 0 ? event : 'other' }));
  });
}
