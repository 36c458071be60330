// Owns the worker's metrics (job durations and failures) and its small HTTP server: the worker
// takes no traffic, so /metrics, /healthz and /readyz get their own port (METRICS_PORT).
import { createServer, type Server } from 'node:http';
import { Counter, Histogram, opsEndpoints, registry } from '@nexusguild/shared/metrics';

const jobDuration = new Histogram({
  name: 'worker_job_duration_seconds',
  help: 'Time spent running a job, by job name and outcome (completed or failed)',
  labelNames: ['name', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

const jobFailures = new Counter({
  name: 'worker_jobs_failed_total',
  help: 'Job attempts that threw (BullMQ retries them with backoff until attempts run out)',
  labelNames: ['name'] as const,
  registers: [registry],
});

/** Runs one job attempt and records how long it took and whether it threw. */
export async function measureJob(name: string, run: () => Promise<void>): Promise<void> {
  const stop = jobDuration.startTimer({ name });
  try {
    await run();
    stop({ outcome: 'completed' });
  } catch (err) {
    stop({ outcome: 'failed' });
    jobFailures.inc({ name });
    throw err;
  }
}

/** /metrics, /healthz (the process is alive) and /readyz (`ready` resolves true). */
export function startMetricsServer(port: number, host: string, ready: () => Promise<boolean>): Promise<Server> {
  const server = createServer(opsEndpoints(ready));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
