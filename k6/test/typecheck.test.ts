// The k6 scripts are type-checked against @types/k6 (k6 cannot run on these machines): tsc over
// k6/tsconfig.json must report nothing.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

t.test('k6 scripts type-check against @types/k6', async (t) => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'k6/tsconfig.json'], { cwd: root, encoding: 'utf8' });
  t.equal(tsc.status, 0, `tsc -p k6 reported:\n${tsc.stdout}${tsc.stderr}`);
});
