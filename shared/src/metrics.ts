// Owns the process's Prometheus registry: Node's process metrics (CPU, memory, event-loop lag,
// GC) plus each service's own metrics, rendered as text for /metrics. One registry per process,
// so the all-in-one process shows API, gateway and worker metrics on one endpoint. Metric objects
// are module-level singletons: registering a name twice throws, and tests build many apps.
import type { ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram };

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Answers a plain node:http request with the registry (gateway and worker servers). */
export function writeMetrics(res: ServerResponse): void {
  registry.metrics().then(
    (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
    () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
  );
}

/** Socket events the publisher sent, by event name (names come from the typed contract: bounded). */
export const eventsPublished = new Counter({
  name: 'events_published_total',
  help: 'Socket events published to the gateways through Redis, by event name',
  labelNames: ['event'] as const,
  registers: [registry],
});
