/**
 * The panel where people need it: dozens of real kernels in real Chromium.
 * Rows sorted by memory, the filter, "shut down idle…", a notification when a
 * long cell finishes (and "Go to cell"), a culled kernel under "Recently
 * ended", keep-alive stopping a cull countdown. Screenshots of 30 kernels in
 * the light and dark themes go to SCREENSHOT_DIR when it is set.
 */
import { expect, galata, test } from '@jupyterlab/galata';
import * as path from 'path';

import {
  execute,
  openNotebook,
  openPanel,
  shutdownAll,
  startKernels,
  waitReady
} from './helpers';

const SHOTS = process.env.SCREENSHOT_DIR;
const row = '.jp-ActiveSessions-row';

/** Galata serves the settings from memory: a test's own values go there. */
function withSettings(values: Record<string, unknown>) {
  return {
    mockSettings: { ...galata.DEFAULT_SETTINGS, 'jupyter-session-ext:plugin': values }
  };
}

function megabytes(text: string): number {
  const [value, unit] = text.trim().split(' ');
  const scale: Record<string, number> = { B: 1e-6, kB: 1e-3, MB: 1, GB: 1e3 };
  return Number(value) * (scale[unit] ?? NaN);
}

test.use({ autoGoto: false, viewport: { width: 1280, height: 800 } });

test.afterEach(async ({ request }) => {
  await shutdownAll(request);
});

test.describe('sorted by memory', () => {
  test.use(withSettings({ sortBy: 'memory' }));

  test('30 kernels in rows, sorted by memory, in light and dark', async ({
    page,
    request
  }, testInfo) => {
    test.setTimeout(300_000);
    const ids = await startKernels(request, 30);
    await waitReady(request, ids);
    await page.goto();
    // Three kernels hold distinct, large amounts of memory.
    const sizes: [string, number][] = [
      [ids[7], 300],
      [ids[20], 500],
      [ids[3], 400]
    ];
    for (const [id, mb] of sizes) {
      // Written, not just reserved: the pages count in RSS.
      await execute(page, [id], `ballast = b'x' * (${mb} * 1000 * 1000)`);
    }
    await openPanel(page);
    const rows = page.locator(row);
    await expect(rows).toHaveCount(30);
    await expect(rows.nth(0)).toHaveAttribute('data-session-id', ids[20], { timeout: 30_000 });
    await expect(rows.nth(1)).toHaveAttribute('data-session-id', ids[3], { timeout: 30_000 });
    await expect(rows.nth(2)).toHaveAttribute('data-session-id', ids[7], { timeout: 30_000 });
    // Every memory figure is no larger than the one above it (polled: the
    // figures grow while the kernels fill their ballast).
    await expect
      .poll(
        async () => {
          const figures = (
            await rows.locator('.jp-ActiveSessions-memory').allTextContents()
          ).map(megabytes);
          return figures[0] > 500 && figures.every((v, i) => i === 0 || v <= figures[i - 1]);
        },
        { timeout: 30_000 }
      )
      .toBe(true);
    await expect(page.locator('.jp-ActiveSessions-counts')).toHaveText('30 idle');

    // At least 15 rows fit in the 800-pixel-high window. (Rows take two lines
    // since the name has a line of its own: at JupyterLab's default sidebar
    // width a one-line row showed 11 characters of a notebook's name.)
    const panel = (await page.locator('#jp-active-sessions').boundingBox())!;
    let visible = 0;
    for (const box of await Promise.all((await rows.all()).map(r => r.boundingBox()))) {
      if (box && box.y >= panel.y && box.y + box.height <= panel.y + panel.height) {
        visible++;
      }
    }
    expect(visible).toBeGreaterThanOrEqual(15);

    // Busy rows show it at a glance.
    await execute(page, [ids[0], ids[1]], 'import time; time.sleep(30)');
    await expect(page.locator('.jp-ActiveSessions-counts')).toHaveText('2 busy · 28 idle');
    await page.locator(row, { has: page.locator('.jp-ActiveSessions-dot.jp-mod-busy') })
      .first()
      .locator('.jp-ActiveSessions-line')
      .click();
    await expect(page.locator('.jp-ActiveSessions-active pre')).toContainText('time.sleep(30)');
    const shoot = async (name: string) => {
      await page.locator('#jp-active-sessions').screenshot({
        path: testInfo.outputPath(name)
      });
      if (SHOTS) {
        await page.locator('#jp-active-sessions').screenshot({ path: path.join(SHOTS, name) });
      }
    };
    await shoot('panel-30-light.png');
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Dark'
      })
    );
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    await shoot('panel-30-dark.png');
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Light'
      })
    );
  });
});

test.describe('Active Sessions panel', () => {
  test('the filter narrows to one notebook', async ({ page, request, tmpPath }) => {
    await page.goto();
    await openNotebook(page, tmpPath, 'alpha.ipynb', ['a = 1']);
    await openNotebook(page, tmpPath, 'beta.ipynb', ['b = 2']);
    const other = await startKernels(request, 2);
    await waitReady(request, other);
    await openPanel(page);
    await expect(page.locator(row)).toHaveCount(4);
    await page.getByLabel('Filter kernels').fill('beta');
    await expect(page.locator(row)).toHaveCount(1);
    await expect(page.locator(`${row} .jp-ActiveSessions-title`)).toHaveText('beta.ipynb');
    await page.getByLabel('Filter kernels').fill('');
    await expect(page.locator(row)).toHaveCount(4);
  });

});

test.describe('idle kernels', () => {
  test.use(withSettings({ idleShutdownChoices: [2, 3600] }));

  test('"shut down idle…" shuts down exactly the idle kernels', async ({ page, request }) => {
    test.setTimeout(120_000);
    const ids = await startKernels(request, 4);
    await waitReady(request, ids);
    await page.goto();
    await execute(page, [ids[1]], 'import time; time.sleep(120)');
    await openPanel(page);
    await expect(page.locator('.jp-ActiveSessions-counts')).toHaveText('1 busy · 3 idle');
    // Idle for more than 2 s, by a margin: the server counts whole seconds,
    // and the panel counts on from its last fetch.
    await expect
      .poll(async () => {
        const list = await (await request.get('/api/active-sessions')).json();
        return list.sessions.filter((s: any) => s.idle_seconds > 3).length;
      })
      .toBe(3);
    await page.getByRole('button', { name: 'Shut down idle…' }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.getByLabel('Idle for more than').selectOption('2');
    await expect(dialog.locator('.jp-ActiveSessions-confirmList li')).toHaveCount(3);
    await dialog.getByRole('button', { name: 'Shut Down', exact: true }).click();
    await expect(page.locator(row)).toHaveCount(1);
    await expect(page.locator(row)).toHaveAttribute('data-session-id', ids[1]);
    const left = await (await request.get('/api/kernels')).json();
    expect(left.map((k: any) => k.id)).toEqual([ids[1]]);
  });

});

test.describe('notifications', () => {
  test.use(withSettings({ notifyAfterSeconds: 1 }));

  test('a notification when a long cell finishes, and "Go to cell"', async ({
    page,
    tmpPath
  }) => {
    await page.goto();
    await openNotebook(page, tmpPath, 'long.ipynb', ['x = 1', 'import time; time.sleep(2)', 'y = 2']);
    await openPanel(page);
    // Run the second cell; the next one becomes active, as users see it.
    await page.notebook.selectCells(1);
    await page.keyboard.press('Shift+Enter');
    const toast = page.locator('.Toastify__toast', { hasText: 'long.ipynb' });
    await expect(toast).toContainText(/\[1\] finished in [23]s/, { timeout: 30_000 });
    const second = (await page.notebook.getCellLocator(1))!;
    await expect(second).not.toHaveClass(/jp-mod-active/);
    await toast.getByRole('button', { name: 'Go to cell' }).click();
    await expect(second).toHaveClass(/jp-mod-active/);
  });

});

test.describe('culling', () => {
  test('a culled kernel shows under "Recently ended"', async ({ page, request }) => {
    const [id] = await startKernels(request, 1);
    await waitReady(request, [id]);
    await page.goto();
    await openPanel(page);
    await expect(page.locator(row)).toHaveCount(1);
    // Its own idle timeout: culled after 2 idle seconds (cull_interval 1 s).
    const patched = await request.patch(`/api/active-sessions/${id}`, {
      data: { idle_timeout: 2 }
    });
    expect(patched.ok()).toBeTruthy();
    await expect(page.locator(row)).toHaveCount(0, { timeout: 30_000 });
    const ended = page.locator('.jp-ActiveSessions-ended');
    await ended.locator('summary').click();
    const record = ended.locator(`[data-session-id="${id}"]`);
    await expect(record).toHaveClass(/jp-mod-culled/);
    await expect(record.locator('.jp-ActiveSessions-reason')).toContainText(/culled after \ds idle/);
  });

  test('keep-alive stops a cull countdown', async ({ page, request }) => {
    const [id] = await startKernels(request, 1);
    await waitReady(request, [id]);
    await request.patch(`/api/active-sessions/${id}`, { data: { idle_timeout: 300 } });
    await page.goto();
    await openPanel(page);
    const countdown = page.locator(`${row} .jp-ActiveSessions-cull`);
    await expect(countdown).toContainText(/culled in 4m \d\ds unless used/);
    await countdown.getByRole('button', { name: /Keep alive/ }).click();
    await expect(countdown).toHaveCount(0);
    const session = await (await request.get(`/api/active-sessions/${id}`)).json();
    expect(session.culling).toBeNull();
    // Expanded, it says so, and can go back to the server's rule.
    await page.locator(`${row} .jp-ActiveSessions-line`).click();
    await expect(page.locator('.jp-ActiveSessions-culling')).toContainText('Kept alive');
  });
});
