// Owns the process's Prometheus registry: Node's process metrics (CPU, memory, event-loop lag,
// GC) plus each service's own metrics, rendered as text for /metrics. One registry per process,
// so the all-in-one process shows API, gateway and worker metrics on one endpoint. Metric objects
// are module-level singletons: registering a name twice throws, and tests build many apps.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram };

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const json = (res: ServerResponse, status: number, body: string) => void res.writeHead(status, { 'content-type': 'application/json' }).end(body);

/**
 * The operations endpoints of a plain node:http server (the gateway's, the worker's): /metrics,
 * /healthz (the process is alive) and /readyz (`ready` resolves true); 404 for anything else.
 */
export function opsEndpoints(ready: () => Promise<boolean>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
    } else if (req.url === '/healthz') {
      json(res, 200, '{"status":"ok"}');
    } else if (req.url === '/readyz') {
      ready().catch(() => false).then((ok) => json(res, ok ? 200 : 503, ok ? '{"status":"ready"}' : '{"status":"unavailable"}'));
    } else {
      json(res, 404, '{"error":"Not found"}');
    }
  };
}

/** Socket events the publisher sent, by event name (names come from the typed contract: bounded). */
export const eventsPublished = new Counter({
  name: 'events_published_total',
  help: 'Socket events published to the gateways through Redis, by event name',
  labelNames: ['event'] as const,
  registers: [registry],
});

/** How a scrape checks the process's connections (one probe per set of resources). */
export interface DependencyProbe {
  redis(): Promise<unknown>;
  postgres(): Promise<unknown>;
  /** BullMQ job counts by state, where the process holds the queue. */
  jobCounts?(): Promise<Record<string, number>>;
}

const probes = new Set<DependencyProbe>();
const PROBE_TIMEOUT_MS = 1000;

/** `check`'s result, or a rejection when it takes over a second: a scrape must not hang on an outage. */
async function withinProbeTimeout<T>(check: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS)));
  try {
    return await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

new Gauge({
  name: 'dependency_up',
  help: 'Whether Redis and Postgres answered a ping at scrape time (1) or not within a second (0)',
  labelNames: ['dependency'] as const,
  registers: [registry],
  async collect() {
    for (const probe of probes) {
      for (const dependency of ['redis', 'postgres'] as const) {
        const up = await withinProbeTimeout(probe[dependency]).then(() => 1, () => 0);
        this.set({ dependency }, up);
      }
    }
  },
});

new Gauge({
  name: 'jobs_queued',
  help: 'Jobs in the BullMQ queue by state (waiting, active, delayed, failed): the worker tier\'s backlog',
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    for (const probe of probes) {
      const counts = probe.jobCounts && (await withinProbeTimeout(probe.jobCounts).catch(() => null));
      for (const [state, n] of Object.entries(counts ?? {})) this.set({ state }, n);
    }
  },
});

/** Adds a set of connections to what /metrics reports; returns the function that removes it. */
export function watchDependencies(probe: DependencyProbe): () => void {
  probes.add(probe);
  return () => probes.delete(probe);
}
