// Owns logging: JSON lines (pino) on stdout, one logger per process, and the request id that
// follows an API request into the events it publishes and the jobs it enqueues (and from a job
// into the events the worker publishes for it).
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** The process's logger; `destination` defaults to stdout (tests pass a stream to read the lines). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino({ level }, destination) : pino({ level });
}

/** Runs `work` (and everything it starts) as part of request `requestId`. */
export function withRequestId<T>(requestId: string | undefined, work: () => T): T {
  return requestId ? requestContext.run({ requestId }, work) : work();
}

/** The id of the request (or job) the caller is working for, if any. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}
