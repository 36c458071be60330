// `npm run bench -- <scenario> [options]`: runs one load scenario against a running instance and
// prints a summary and one JSON line per measurement. Scenarios share their settings and
// thresholds with the k6 scripts (k6/lib/scenarios.ts); see bench/RESULTS.md for the commands.
const scenarios: Record<string, () => Promise<unknown>> = {
  publish: () => import('./publish.ts'),
  smoke: async () => (await import('./smoke.ts')).smoke(),
  'chat-fanout': async () => (await import('./fanout.ts')).chatFanout(),
  ceiling: async () => (await import('./fanout.ts')).ceiling(),
  'history-read': async () => (await import('./history.ts')).historyRead(),
  'login-storm': async () => (await import('./storms.ts')).loginStorm(),
  'reconnect-storm': async () => (await import('./storms.ts')).reconnectStorm(),
  memory: async () => (await import('./memory.ts')).memory(),
};
const name = process.argv[2];
if (!name || !scenarios[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(scenarios).join('|')}> [options]`);
  process.exit(2);
}
await scenarios[name]();
process.exit(0); // keep-alive HTTP agents and closed sockets must not hold the driver open
