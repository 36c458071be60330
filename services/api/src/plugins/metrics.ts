// Owns the API's /metrics: request latency by route pattern and status, plus the process registry.
// /metrics is public to the node's own port only: HAProxy denies it at the edge and the k8s
// Ingress routes only /api, /uploads and /socket.io, so Prometheus scrapes pods directly.
import type { FastifyInstance } from 'fastify';
import { Histogram, registry } from '@nexusguild/shared/metrics';

const requestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'API request latency, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export function registerMetrics(app: FastifyInstance) {
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern (/api/channels/:id), never the raw URL: one series per route, and
    // unmatched URLs (404 probes) share one label value.
    const route = request.routeOptions.url ?? 'unmatched';
    requestDuration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
