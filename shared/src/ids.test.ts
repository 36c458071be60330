import t from 'tap';
import { createIdGenerator, idTime } from './ids.ts';
t.test('ids increase', async (t) => {
  const g = createIdGenerator(5);
  const a = g.next(); const b = g.next();
  t.ok(BigInt(b) > BigInt(a));
  t.ok(Math.abs(idTime(a).getTime() - Date.now()) < 1000);
});
