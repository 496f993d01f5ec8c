/**
 * Memory against a real limit, in Chromium: the server runs inside a real
 * 3 GiB memory cgroup (memory_server.py). With 30 kernels: the header says
 * "used of limit", rows have sparklines, an expanded row draws its chart;
 * a kernel filling memory brings the warning notification, whose one click
 * shuts the largest idle kernel down; past the limit the OOM killer ends a
 * kernel and "Recently ended" says so. Screenshots (light and dark) go to SCREENSHOT_DIR.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { execute, openPanel, shutdownAll, startKernels, theme, waitReady } from './helpers';

const SHOTS = process.env.SCREENSHOT_DIR;

test.use({ autoGoto: false, viewport: { width: 1280, height: 800 } });

test.afterEach(async ({ request }) => {
  await shutdownAll(request);
});

/** Drag the left sidebar's edge to make the panel `width` pixels wide. */
async function widenSidebar(page: IJupyterLabPageFixture, width: number): Promise<void> {
  const panel = (await page.locator('#jp-active-sessions').boundingBox())!;
  const edge = panel.x + panel.width + 2;
  await page.mouse.move(edge, panel.y + 200);
  await page.mouse.down();
  await page.mouse.move(panel.x + width + 2, panel.y + 200, { steps: 5 });
  await page.mouse.up();
}

test('the limit, sparklines, the chart, the warning and an OOM kill', async ({
  page,
  request
}, testInfo) => {
  test.setTimeout(420_000);
  const status = await (await request.get('/api/active-sessions/status')).json();
  test.skip(
    status.memory.source !== 'cgroup',
    'memory_server.py could not make a memory cgroup here (needs root and cgroupfs)'
  );
  const limit: number = status.memory.limit_bytes;
  const shoot = async (name: string, whole = false) => {
    const target = whole ? page : page.locator('#jp-active-sessions');
    await target.screenshot({ path: testInfo.outputPath(name) });
    if (SHOTS) {
      await target.screenshot({ path: path.join(SHOTS, name) });
    }
  };

  const ids = await startKernels(request, 30);
  await waitReady(request, ids);
  await page.goto();
  await openPanel(page);
  await widenSidebar(page, 440);
  await expect(page.locator('.jp-ActiveSessions-row')).toHaveCount(30);
  await expect(page.locator('.jp-ActiveSessions-meterText')).toContainText(/ of 3\.2 GB$/);
  await expect(page.locator('.jp-ActiveSessions-meter [role="meter"]')).toBeVisible();
  // A sparkline on every row once each kernel has a few samples.
  await expect(page.locator('svg.jp-ActiveSessions-spark')).toHaveCount(30, { timeout: 30_000 });

  // The filler grows a few hundred MB, so its row is worth opening.
  const filler = ids[0];
  await execute(page, [filler], "ballast = [b'a' * 100_000_000 for _ in range(3)]");
  const fillerRow = page.locator(`.jp-ActiveSessions-row[data-session-id="${filler}"]`);
  await fillerRow.locator('.jp-ActiveSessions-line').click();
  await expect(fillerRow.locator('.jp-ActiveSessions-chart svg')).toBeVisible({ timeout: 30_000 });
  await expect(fillerRow.locator('.jp-ActiveSessions-historyMemory').first()).toContainText(
    /^\+3\d\d MB$/,
    { timeout: 30_000 }
  );
  await fillerRow.scrollIntoViewIfNeeded();
  await shoot('memory-panel-light.png');
  await theme(page, 'JupyterLab Dark');
  await shoot('memory-panel-dark.png');
  await theme(page, 'JupyterLab Light');

  // Past 90% of the limit: the warning, naming the filler, offering to shut it down.
  const now = await (await request.get('/api/active-sessions/status')).json();
  const fill = Math.round(0.94 * limit - now.memory.used_bytes);
  await execute(page, [filler], `more = b'b' * ${fill}`);
  const toast = page.locator('.Toastify__toast', { hasText: 'Memory nearly full' });
  await expect(toast).toBeVisible({ timeout: 60_000 });
  await expect(toast.locator('button', { hasText: 'Shut down the largest idle kernel' })).toBeVisible();
  await expect(page.locator('.jp-ActiveSessions-meter.jp-mod-warning')).toBeVisible({
    timeout: 30_000
  });
  await shoot('memory-warning-light.png', true);
  await theme(page, 'JupyterLab Dark');
  await shoot('memory-warning-dark.png', true);
  await theme(page, 'JupyterLab Light');

  // One click shuts the largest idle kernel down: the filler, once its cell is done.
  await expect(fillerRow.locator('.jp-ActiveSessions-dot.jp-mod-idle')).toBeVisible({
    timeout: 60_000
  });
  await toast.locator('button', { hasText: 'Shut down the largest idle kernel' }).click();
  await expect(fillerRow).toHaveCount(0, { timeout: 30_000 });
  await expect(page.locator('.jp-ActiveSessions-meter.jp-mod-warning')).toHaveCount(0, {
    timeout: 30_000
  });

  // Past the limit: the OOM killer ends a kernel; it is not restarted here.
  const victim = ids[1];
  await execute(page, [victim], `over = b'd' * ${Math.round(1.05 * limit)}`);
  await expect(page.locator(`.jp-ActiveSessions-row[data-session-id="${victim}"]`)).toHaveCount(
    0,
    { timeout: 60_000 }
  );
  const ended = page.locator('.jp-ActiveSessions-ended');
  await ended.locator('summary').click();
  await expect(ended.locator(`[data-session-id="${filler}"]`)).toHaveClass(/jp-mod-shutdown/);
  const record = ended.locator(`[data-session-id="${victim}"]`);
  await expect(record).toHaveClass(/jp-mod-oom/);
  await expect(record.locator('.jp-ActiveSessions-reason')).toHaveText(
    /^killed: out of memory \((\d\.\d of 3\.2 GB|limit 3\.2 GB; last seen at [\d.]+ [kMG]B)\)$/
  );
  await page.locator('#jp-active-sessions').evaluate(e => (e.scrollTop = e.scrollHeight));
  await shoot('memory-oom-light.png');
  await theme(page, 'JupyterLab Dark');
  await shoot('memory-oom-dark.png');
  await theme(page, 'JupyterLab Light');
});
