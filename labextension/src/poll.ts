/**
 * How the model refetches what changes without events (memory, CPU; and
 * everything where the server's event stream is unavailable): Lumino's Poll,
 * as JupyterLab's own managers poll. It waits `refreshInterval` between
 * fetches, longer and longer while they fail (up to a minute), and stands by
 * while JupyterLab's tab is hidden. No JupyterLab import: unit-tested on its
 * own (labextension/test/poll.test.mjs).
 */
import { IPoll, Poll } from '@lumino/polling';

/** The longest wait between two failed fetches. */
export const MAX_BACKOFF_MS = 60 * 1000;

/** Poll's timing for a refresh interval in seconds (at least one). */
export function pollFrequency(seconds: number): IPoll.Frequency {
  const interval = Math.max(1, seconds) * 1000;
  return { interval, backoff: true, max: Math.max(interval, MAX_BACKOFF_MS) };
}

/**
 * A poll calling `fetch` (which rejects when it failed) every `seconds`,
 * stopped until `start()`ed or `refresh()`ed.
 */
export function sessionsPoll(fetch: () => Promise<void>, seconds: number): Poll {
  return new Poll({
    auto: false,
    factory: fetch,
    frequency: pollFrequency(seconds),
    // Hidden: no fetch from the next tick on (Poll's default fetches once more).
    linger: 0,
    name: 'jupyter-session-ext:sessions',
    standby: 'when-hidden'
  });
}
