/**
 * How the panel polls: the list is refetched every refreshInterval while the
 * panel shows, not at all while JupyterLab's tab is hidden (and the timers
 * stop ticking there), and less and less often while the server answers
 * with errors, until it answers again.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Request } from '@playwright/test';

import { openPanel, shutdownAll, startKernels, waitReady } from './helpers';

// One second between polls (the setting's minimum): a poller shows itself fast.
const INTERVAL_MS = 1000;

test.use({
  autoGoto: false,
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyter-session-ext:plugin': { refreshInterval: INTERVAL_MS / 1000 }
  }
});

test.afterEach(async ({ request }) => {
  await shutdownAll(request);
});

/** The list route alone (not ended, status, resources or one kernel's). */
function isList(url: string): boolean {
  return new URL(url).pathname.replace(/\/$/, '').endsWith('/api/active-sessions');
}

/** When the page asked for the list, in ms since the test began. */
function recordListRequests(page: IJupyterLabPageFixture): number[] {
  const times: number[] = [];
  page.on('request', (r: Request) => {
    if (r.method() === 'GET' && isList(r.url())) {
      times.push(Date.now());
    }
  });
  return times;
}

/** The tab hidden or shown, as the browser tells a page (Playwright's
 * headless page is always "visible": the property is stubbed, the event real). */
async function setHidden(page: IJupyterLabPageFixture, hidden: boolean): Promise<void> {
  await page.evaluate(hidden => {
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (hidden ? 'hidden' : 'visible')
    });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('no polling and no ticking while the tab is hidden; both again once shown', async ({
  page,
  request
}) => {
  const ids = await startKernels(request, 1);
  await waitReady(request, ids);
  await page.goto();
  const times = recordListRequests(page);
  await openPanel(page);
  const timer = page.locator('.jp-ActiveSessions-timer');
  await expect(timer).toHaveCount(1);
  // Shown: it polls (a few requests, one interval apart) and the timer ticks.
  await expect.poll(() => times.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
  const ticking = await timer.textContent();
  await expect(timer).not.toHaveText(ticking!);

  await setHidden(page, true);
  // A request already under way when the tab hid may still be counted: wait
  // out one interval and a half before counting.
  await page.waitForTimeout(1.5 * INTERVAL_MS);
  const before = times.length;
  const frozen = await timer.textContent();
  // Absence can only be shown over a span of time: five intervals, in which
  // a poller would have asked five times and the timer moved five seconds.
  await page.waitForTimeout(5 * INTERVAL_MS);
  expect(times.length).toBe(before);
  expect(await timer.textContent()).toBe(frozen);

  await setHidden(page, false);
  await expect.poll(() => times.length, { timeout: 15_000 }).toBeGreaterThan(before);
  await expect(timer).not.toHaveText(frozen!);
});

test('backs off while the server answers errors, and recovers', async ({ page, request }) => {
  test.setTimeout(120_000);
  const ids = await startKernels(request, 1);
  await waitReady(request, ids);
  await page.goto();
  const times = recordListRequests(page);
  await openPanel(page);
  await expect.poll(() => times.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
  // While healthy, one request per interval (and the time a request takes).
  const healthy = Math.max(...times.slice(-3).map((t, i, a) => (i ? t - a[i - 1] : 0)));

  // Lumino's Poll draws each wait at random between the interval and three
  // times the last wait: fixed at the middle here, so the growth is certain.
  await page.evaluate(() => {
    (window as any).__random = Math.random;
    Math.random = () => 0.5;
  });
  const failed: number[] = [];
  const list = (url: URL) => isList(url.href);
  await page.route(
    list,
    route => {
      failed.push(Date.now());
      return route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ message: 'The test server is down' })
      });
    }
  );
  await expect(page.locator('.jp-ActiveSessions-error')).toContainText('The test server is down', {
    timeout: 15_000
  });
  await expect.poll(() => failed.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(4);
  const gaps = failed.slice(1, 4).map((t, i) => t - failed[i]);
  // Each wait longer than the last, the third more than three healthy ones.
  expect(gaps[1]).toBeGreaterThan(gaps[0]);
  expect(gaps[2]).toBeGreaterThan(gaps[1]);
  expect(gaps[2]).toBeGreaterThan(3 * healthy);

  await page.evaluate(() => {
    Math.random = (window as any).__random;
  });
  await page.unroute(list);
  // The server answers again: the poll's next try clears the error, and it
  // polls at its interval again.
  await expect(page.locator('.jp-ActiveSessions-error')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.locator('.jp-ActiveSessions-row')).toHaveCount(1);
  const recovered = times.length;
  await expect.poll(() => times.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(recovered + 3);
});
