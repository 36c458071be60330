// `npm run bench -- <scenario> [options]`: runs one load scenario and prints a summary and one JSON line.
const scenarios: Record<string, string> = { publish: './publish.ts' };
const name = process.argv[2];
if (!name || !scenarios[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(scenarios).join('|')}> [options]`);
  process.exit(2);
}
await import(scenarios[name]);
