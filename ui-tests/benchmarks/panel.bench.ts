/**
 * What the panel costs in the browser, in real Chromium against real kernels
 * (`make bench-ui`; writes the "panel" section of benchmarks/RESULTS.md):
 *
 * - time from opening the panel to 100 rows on screen (its list fetched and
 *   rendered), median of 5 page loads;
 * - the main thread's busy share over 10 s with 20 busy kernels' timers
 *   running, panel shown vs the same page with the panel hidden, side by
 *   side (Chrome's own TaskDuration metric, through the DevTools protocol).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { APIRequestContext } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { execute, shutdownAll, startKernels, waitReady } from '../tests/helpers';

const RESULTS = path.join(__dirname, '..', '..', 'benchmarks', 'RESULTS.md');
const row = '.jp-ActiveSessions-row';

async function startAll(request: APIRequestContext, n: number): Promise<string[]> {
  const ids = await startKernels(request, n);
  await waitReady(request, ids, 600_000);
  return ids;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function writeSection(name: string, text: string) {
  const begin = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const old = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const block = `${begin}\n${text.trim()}\n${end}`;
  const updated =
    old.includes(begin) && old.includes(end)
      ? old.slice(0, old.indexOf(begin)) + block + old.slice(old.indexOf(end) + end.length)
      : old.trimEnd() + '\n\n' + block + '\n';
  fs.writeFileSync(RESULTS, updated);
}

async function openPanelTimed(page: IJupyterLabPageFixture, count: number): Promise<number> {
  const start = await page.evaluate(() => performance.now());
  await page.click('.jp-SideBar [title="Active Sessions"]');
  await page.waitForFunction(
    n => document.querySelectorAll('.jp-ActiveSessions-row').length === n,
    count,
    { timeout: 60_000, polling: 'raf' }
  );
  return (await page.evaluate(() => performance.now())) - start;
}

async function mainThreadBusy(page: IJupyterLabPageFixture, seconds: number) {
  // Galata's page is a proxy; the DevTools session wants Playwright's own Page.
  const raw = page.context().pages()[0];
  const cdp = await page.context().newCDPSession(raw);
  await cdp.send('Performance.enable');
  const read = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find(m => m.name === 'TaskDuration')!.value;
  };
  const before = await read();
  await page.waitForTimeout(seconds * 1000); // the measured interval itself
  const busy = (await read()) - before;
  await cdp.detach();
  return busy / seconds;
}

test.use({ autoGoto: false, viewport: { width: 1280, height: 800 } });

test('panel cost in the browser', async ({ page, request }) => {
  test.setTimeout(1_800_000);
  const lines: string[] = [];

  // -- time to render 100 rows -------------------------------------------------
  await startAll(request, 100);
  const renders: number[] = [];
  for (let i = 0; i < 5; i++) {
    await page.goto();
    renders.push(await openPanelTimed(page, 100));
  }
  await shutdownAll(request);

  // -- main thread with 20 busy kernels ---------------------------------------------
  const ids = await startAll(request, 20);
  await page.goto();
  await execute(page, ids, 'import time; time.sleep(600)');
  await page.click('.jp-SideBar [title="Active Sessions"]');
  await expect(page.locator(`${row}.jp-mod-busy`)).toHaveCount(20, { timeout: 60_000 });
  const shown: number[] = [];
  const hidden: number[] = [];
  for (let round = 0; round < 3; round++) {
    shown.push(await mainThreadBusy(page, 10));
    await page.click('.jp-SideBar [title^="File Browser"]'); // another panel in front
    await expect(page.locator('#jp-active-sessions')).toBeHidden();
    hidden.push(await mainThreadBusy(page, 10));
    await page.click('.jp-SideBar [title="Active Sessions"]');
    await expect(page.locator('#jp-active-sessions')).toBeVisible();
  }
  await shutdownAll(request);

  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  lines.push(
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.hostname()}: ${os.cpus().length} cores, ` +
      `headless Chromium, by \`make bench-ui\` (ui-tests/benchmarks/panel.bench.ts).`,
    '',
    '| measure | figure | target |',
    '|---|---|---|',
    `| open the panel -> 100 rows on screen (list fetched and rendered), median of 5 page loads | ` +
      `${median(renders).toFixed(0)} ms (all: ${renders.map(r => r.toFixed(0)).join(', ')}) | |`,
    `| main thread busy, 20 busy kernels, panel shown (10 s, median of 3) | ${pct(median(shown))} ` +
      `(all: ${shown.map(pct).join(', ')}) | |`,
    `| same page, panel hidden (10 s, median of 3, alternating with the above) | ${pct(median(hidden))} ` +
      `(all: ${hidden.map(pct).join(', ')}) | |`
  );
  const text = lines.join('\n');
  console.log(text);
  writeSection('panel', text);
});
