// Owns process shutdown: on SIGTERM/SIGINT run the service's close steps once, bounded by a
// timeout, then exit. A second signal exits at once.
const SHUTDOWN_TIMEOUT_MS = 10_000;

interface Log {
  info(msg: string): void;
  error(obj: unknown, msg?: string): void;
}

export function onShutdown(log: Log, close: () => Promise<void>, timeoutMs = SHUTDOWN_TIMEOUT_MS) {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    log.info(`${signal}: shutting down`);
    const timer = setTimeout(() => {
      log.error({}, `shutdown took longer than ${timeoutMs} ms, exiting`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    close().then(
      () => process.exit(0),
      (err) => {
        log.error(err, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
