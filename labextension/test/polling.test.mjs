// Unit tests of the model's poll (lib/poll.js: Lumino's Poll as the model
// makes it) and of the timers' clock (lib/clock.js), on node's mocked timers
// with a document whose visibility the test sets, as a browser's tab would.
// Run: jlpm test.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';

// Before Lumino's polling module loads: it reads the document's visibility then.
const page = Object.assign(new EventTarget(), { visibilityState: 'visible' });
globalThis.document = page;
globalThis.window = globalThis;

const { MAX_BACKOFF_MS, pollFrequency, sessionsPoll } = await import('../../lib/poll.js');
const { Clock } = await import('../../lib/clock.js');

function setHidden(hidden) {
  page.visibilityState = hidden ? 'hidden' : 'visible';
  page.dispatchEvent(new Event('visibilitychange'));
}

/** Virtual time, advanced in small steps with the promises between them
 * settled (the poll schedules its next tick after its fetch settles). */
function virtualClock() {
  let now = 0;
  return {
    get now() {
      return now;
    },
    async advance(ms, step = 50) {
      for (let t = 0; t < ms; t += step) {
        mock.timers.tick(step);
        now += step;
        await new Promise(resolve => setImmediate(resolve));
      }
    }
  };
}

test('the poll: a fetch every interval, none while the tab is hidden', async t => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  t.after(() => mock.timers.reset());
  const clock = virtualClock();
  const calls = [];
  const poll = sessionsPoll(async () => {
    calls.push(clock.now);
  }, 1);
  t.after(() => poll.dispose());
  await clock.advance(500);
  assert.equal(calls.length, 0, 'made stopped: no fetch before it is started');
  await poll.refresh();
  await clock.advance(3000);
  assert.ok(calls.length >= 3, `fetches while shown: ${calls}`);

  setHidden(true);
  await clock.advance(1000); // the tick under way when it hid
  const before = calls.length;
  await clock.advance(10_000);
  assert.equal(calls.length, before, 'no fetch in ten intervals hidden');

  setHidden(false);
  await clock.advance(1100);
  assert.ok(calls.length > before, 'fetches again once shown');
  await poll.stop();
  const stopped = calls.length;
  await clock.advance(5000);
  assert.equal(calls.length, stopped, 'stopped: no fetch');
});

test('the poll waits longer after each failure, up to its maximum, and recovers', async t => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  // Lumino draws each wait at random between the interval and three times
  // the last one: the middle, here.
  mock.method(Math, 'random', () => 0.5);
  t.after(() => mock.restoreAll());
  const clock = virtualClock();
  const calls = [];
  let failing = true;
  const poll = sessionsPoll(async () => {
    calls.push(clock.now);
    if (failing) {
      throw new Error('500');
    }
  }, 1);
  t.after(() => poll.dispose());
  await poll.refresh();
  await clock.advance(240_000, 100);
  const gaps = calls.slice(1).map((time, i) => time - calls[i]);
  assert.ok(gaps.length >= 6, `gaps: ${gaps}`);
  for (let i = 2; i < gaps.length; i++) {
    assert.ok(gaps[i] >= gaps[i - 1], `each wait at least the last: ${gaps}`);
  }
  assert.ok(gaps[3] > 2 * 1000, `backed off beyond twice the interval: ${gaps}`);
  assert.ok(Math.max(...gaps) <= MAX_BACKOFF_MS + 100, `never beyond the maximum: ${gaps}`);
  assert.ok(gaps.at(-1) >= MAX_BACKOFF_MS - 100, `reaches the maximum: ${gaps}`);

  failing = false;
  const recovered = calls.length;
  await clock.advance(MAX_BACKOFF_MS + 5000, 100);
  const after = calls.slice(recovered);
  assert.ok(after.length >= 4, `polls at its interval again: ${after}`);
  const back = after.slice(1).map((time, i) => time - after[i]);
  assert.ok(
    back.every(gap => gap <= 1100),
    `one interval apart: ${back}`
  );
});

test('the poll frequency of a refresh interval', () => {
  assert.deepEqual(pollFrequency(5), { interval: 5000, backoff: true, max: MAX_BACKOFF_MS });
  assert.equal(pollFrequency(0).interval, 1000);
  assert.equal(pollFrequency(600).max, 600_000);
});

test('the clock ticks each second while used and the tab shows', async t => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  const clock = new Clock();
  t.after(() => clock.dispose());
  let ticks = 0;
  clock.tick.connect(() => ticks++);
  mock.timers.tick(3000);
  assert.equal(ticks, 0, 'no tick unused');
  clock.start();
  assert.equal(ticks, 1, 'a tick at once');
  mock.timers.tick(3000);
  assert.equal(ticks, 4);
  setHidden(true);
  mock.timers.tick(10_000);
  assert.equal(ticks, 4, 'no tick while hidden');
  setHidden(false);
  assert.equal(ticks, 5, 'a tick at once on coming back');
  mock.timers.tick(2000);
  assert.equal(ticks, 7);
  clock.stop();
  mock.timers.tick(2000);
  assert.equal(ticks, 7, 'no tick once unused');
  setHidden(true);
  setHidden(false);
  assert.equal(ticks, 7, 'coming back does not start an unused clock');
});
