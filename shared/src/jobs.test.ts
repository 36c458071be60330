// The in-process coalescing of job adds (singleFlight): every caller's promise settles only after
// an add that started after its call, and callers arriving during one add share exactly one more.
import t from 'tap';
import { singleFlight } from './jobs.ts';

/** An add whose completion the test controls, recording when each add started. */
function controlledAdds() {
  const started: number[] = [];
  const finishers: ((err?: Error) => void)[] = [];
  let clock = 0;
  const add = () => {
    started.push(++clock);
    return new Promise<void>((resolve, reject) => finishers.push((err) => (err ? reject(err) : resolve())));
  };
  return { add, started, finish: (i: number, err?: Error) => finishers[i](err), tick: () => ++clock };
}

const settled = async (p: Promise<void>) => {
  let state = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return state;
};

t.test('callers during an add share one follow-up add, started after it', async (t) => {
  const flight = singleFlight();
  const adds = controlledAdds();
  const first = flight('k', adds.add);
  t.equal(adds.started.length, 1, 'the first add is sent at once');
  const joinedAt = adds.tick();
  const second = flight('k', adds.add);
  const third = flight('k', adds.add);
  t.equal(adds.started.length, 1, 'nothing more is sent while the first is in flight');
  adds.finish(0);
  await first;
  for (let i = 0; i < 10 && adds.started.length < 2; i++) await Promise.resolve();
  t.equal(adds.started.length, 2, 'one follow-up for both waiting callers');
  t.ok(adds.started[1] > joinedAt, 'the follow-up started after they called');
  t.equal(await settled(second), 'pending', 'a waiting caller settles with the follow-up, not before');
  adds.finish(1);
  await Promise.all([second, third]);
  t.equal(adds.started.length, 2);
});

t.test('a failed add fails its callers only; the next callers get their own add', async (t) => {
  const flight = singleFlight();
  const adds = controlledAdds();
  const first = flight('k', adds.add);
  const second = flight('k', adds.add);
  adds.finish(0, new Error('redis down'));
  await t.rejects(first, /redis down/);
  for (let i = 0; i < 10 && adds.started.length < 2; i++) await Promise.resolve();
  t.equal(adds.started.length, 2, 'the waiting caller still gets an add');
  adds.finish(1);
  await second;
  const later = flight('k', adds.add);
  t.equal(adds.started.length, 3, 'with nothing in flight a caller sends at once');
  adds.finish(2);
  await later;
});

t.test('keys do not wait for each other', async (t) => {
  const flight = singleFlight();
  const adds = controlledAdds();
  const a = flight('a', adds.add);
  const b = flight('b', adds.add);
  t.equal(adds.started.length, 2);
  adds.finish(1);
  await b;
  t.equal(await settled(a), 'pending');
  adds.finish(0);
  await a;
});
