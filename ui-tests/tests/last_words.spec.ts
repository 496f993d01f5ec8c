/**
 * A kernel's last words, as a user meets them: a notebook cell segfaults a
 * real ipykernel (jupyter_client's restarter starts another process). A
 * notification says where it died; its "Go to cell" lands on that cell;
 * its "Show details" opens the panel at the crash under "Recently ended",
 * whose reason line names the cell and its line, and whose last words
 * (collapsed) hold what the process wrote before it died, as text. A reload
 * does not announce the crash again. Screenshots of the panel with 30
 * kernels and a few ends (light and dark) go to SCREENSHOT_DIR.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { execute, openNotebook, openPanel, shutdownAll, startKernels, theme, waitReady } from './helpers';

const SHOTS = process.env.SCREENSHOT_DIR;

// Written on fd 2, where C libraries write (print() in a cell goes to the
// notebook alone, never to the process's stderr). Markup in it must show
// as the characters it is.
const MARKER = "import os\nos.write(2, b'MARKER-lw7 <b>not html</b>\\n')";
// The crash on the cell's third line.
const CRASH = 'import ctypes, sys\nvalue = 1\nctypes.string_at(0)';
// Tall, so that the crash cell is out of view from the last cell.
const FILLER = Array.from({ length: 60 }, (_, i) => `# filler ${i + 1}`).join('\n');

test.use({ autoGoto: false, viewport: { width: 1280, height: 800 } });

test.afterEach(async ({ request }) => {
  await shutdownAll(request);
});

/** Whether the cell at `index` of the current notebook is active and in
 * the notebook's view (clipped by its scroller as the user sees it). */
function cellState(page: IJupyterLabPageFixture, index: number): Promise<string> {
  return page.evaluate(
    index =>
      new Promise<string>(resolve => {
        const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell');
        const cell = cells[index];
        if (!cell) {
          resolve('not on the page');
          return;
        }
        const active = cell.classList.contains('jp-mod-active') ? 'active' : 'not active';
        const observer = new IntersectionObserver(([entry]) => {
          observer.disconnect();
          resolve(`${active}, ${entry.intersectionRatio > 0 ? 'in view' : 'out of view'}`);
        });
        observer.observe(cell);
      }),
    index
  );
}

test('a segfault: notified, "Go to cell", the reason line and the last words', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(90_000);
  await page.goto();
  await openNotebook(page, tmpPath, 'crash.ipynb', [MARKER, CRASH, FILLER, 'after = 1']);
  const cellId = await page.evaluate(
    () => (window as any).jupyterapp.shell.currentWidget.content.widgets[1].model.id as string
  );

  // The marker first, shown in the notebook: then it has left the process.
  await page.notebook.runCell(0);
  await expect((await page.notebook.getCellLocator(0))!).toContainText('MARKER-lw7');
  // Then the crash (not awaited: the kernel dies under it).
  await page.notebook.selectCells(1);
  await page.keyboard.press('Control+Enter');

  const toast = page.locator('.Toastify__toast', { hasText: 'crash.ipynb: the kernel died' });
  await expect(toast).toHaveCount(1, { timeout: 30_000 });
  await expect(toast).toContainText(
    'crash.ipynb: the kernel died (Segmentation fault in cell [2], line 3). It was restarted.'
  );
  // JupyterLab's own word on it: modal, dismissed as a user would.
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('appears to have died');
  await dialog.getByRole('button', { name: 'Ok' }).click();
  await expect(dialog).toHaveCount(0);
  await toast.screenshot({ path: testInfo.outputPath('last-words-notification-light.png') });
  if (SHOTS) {
    await toast.screenshot({ path: path.join(SHOTS, 'last-words-notification-light.png') });
  }

  // Away from the crash cell: the last one, the crash cell out of view.
  await page.notebook.selectCells(3);
  await expect.poll(() => cellState(page, 1)).toBe('not active, out of view');
  await toast.getByRole('button', { name: 'Go to cell' }).click();
  await expect.poll(() => cellState(page, 1)).toBe('active, in view');

  // The notification stays for its details: the panel, at the crash.
  await toast.getByRole('button', { name: 'Show details' }).click();
  await expect(toast).toHaveCount(0);
  const panel = page.locator('#jp-active-sessions');
  await expect(panel).toBeVisible();
  const end = panel.locator('.jp-ActiveSessions-endedRow.jp-mod-expanded');
  await expect(end).toHaveCount(1);
  await expect(end.locator('.jp-ActiveSessions-title')).toHaveText('crash.ipynb');
  await expect(end.locator('.jp-ActiveSessions-reason')).toHaveText(
    'killed by signal 11, restarted'
  );
  await expect(end.locator('.jp-ActiveSessions-faultLine')).toHaveText(
    `Segmentation fault in cell [2] (${cellId}), line 3: \`ctypes.string_at(0)\``
  );
  await expect(end.locator('.jp-ActiveSessions-endedToggle')).toBeFocused();

  // The last words: collapsed, then what the process wrote, as text.
  const words = end.locator('.jp-ActiveSessions-lastWords');
  const text = words.locator('pre');
  await expect(text).toBeHidden();
  await words.locator('summary').click();
  await expect(text).toBeVisible();
  await expect(text).toContainText('MARKER-lw7 <b>not html</b>');
  await expect(text).toContainText('Fatal Python error: Segmentation fault');
  await expect(text.locator('b')).toHaveCount(0);
  // Opened a few lines above the fault report: the marker is in view.
  await expect(text.getByText('MARKER-lw7', { exact: false })).toBeInViewport();
  // Copy puts the whole text on the clipboard.
  await page.evaluate(() => {
    window.addEventListener('copy', e => {
      (window as any).copied = e.clipboardData?.getData('text');
    });
  });
  await words.getByRole('button', { name: 'Copy what its process wrote' }).click();
  await expect(words.getByRole('button', { name: 'Copy what its process wrote' })).toHaveText(
    'Copied'
  );
  const copied = await page.evaluate(() => (window as any).copied as string);
  expect(copied).toContain('MARKER-lw7 <b>not html</b>');
  expect(copied).toContain('ctypes/__init__.py');

  // The kernel's own row, opened, says how its last process ended.
  const row = panel.locator('.jp-ActiveSessions-row', { hasText: 'crash.ipynb' });
  await row.locator('.jp-ActiveSessions-line').click();
  const lastExit = row.locator('.jp-ActiveSessions-lastExit');
  await expect(lastExit).toContainText('Its last process: killed by signal 11');
  await expect(lastExit.locator('.jp-ActiveSessions-faultLine')).toHaveText(
    `Segmentation fault in cell [2] (${cellId}), line 3: \`ctypes.string_at(0)\``
  );
  await expect(lastExit.locator('.jp-ActiveSessions-lastWords > summary')).toBeVisible();

  // A reload lists the crash again, and announces it no more.
  // (Not waiting for the Launcher, as Galata would: the notebook is restored.)
  await page.reload({ waitForIsReady: false });
  await page.waitForSelector('#jp-active-sessions', { state: 'attached' });
  await page.evaluate(() => (window as any).jupyterapp.shell.activateById('jp-active-sessions'));
  await panel.locator('.jp-ActiveSessions-ended > summary').click();
  await expect(panel.locator('.jp-ActiveSessions-endedRow.jp-mod-restarted')).toHaveCount(1);
  await page.waitForTimeout(500); // a toast renders a frame after it is made
  await expect(page.locator('.Toastify__toast', { hasText: 'the kernel died' })).toHaveCount(0);
});

// A kernelspec of a broken environment: its interpreter lacks the kernel's
// module, says so and exits 1. Written where the panel's server looks for
// kernelspecs (its own JUPYTER_DATA_DIR: playwright.config.js), for one test.
const BROKEN = 'broken-env';

function brokenKernelspec(): string {
  const dir = path.join(process.env.JSE_UI_TESTS_DIRS!, 'panel', 'data', 'kernels', BROKEN);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'kernel.json'),
    JSON.stringify({
      argv: ['python', '-m', 'ipykernel_not_installed', '-f', '{connection_file}'],
      display_name: 'Python 3 (old env)',
      language: 'python'
    })
  );
  return dir;
}

test.describe('screenshots', () => {
  // Tall enough for 30 rows and "Recently ended" in one picture.
  test.use({ viewport: { width: 1280, height: 1800 } });

test('screenshots: 30 kernels, some busy, a few ended, a segfault\'s last words open', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  const broken = brokenKernelspec();
  try {
    // Its start fails; jupyter_client's restarter tries a few times, then gives up.
    const failing = await request.post('/api/kernels', { data: { name: BROKEN } });
    expect(failing.status()).toBe(201);
    const ids = await startKernels(request, 30);
    await waitReady(request, ids);
    await page.goto();
    // Three busy; one killed by a signal (as a kill -9 from a terminal
    // would), one culled (idle for a second).
    await execute(page, ids.slice(0, 3), 'import time; time.sleep(120)');
    await execute(page, [ids[5]], 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)');
    const culled = await request.patch(`/api/active-sessions/${ids[29]}`, {
      data: { idle_timeout: 1 }
    });
    expect(culled.ok()).toBe(true);
    // And a notebook's segfault, with what its process wrote before.
    await openNotebook(page, tmpPath, 'spectra-calibration.ipynb', [MARKER, CRASH]);
    await page.notebook.runCell(0);
    await expect((await page.notebook.getCellLocator(0))!).toContainText('MARKER-lw7');
    await page.notebook.selectCells(1);
    await page.keyboard.press('Control+Enter');
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('appears to have died', { timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Ok' }).click();

    await openPanel(page);
    const panel = page.locator('#jp-active-sessions');
    await expect(panel.locator('.jp-ActiveSessions-row')).toHaveCount(30, { timeout: 30_000 });
    await expect(panel.locator('.jp-ActiveSessions-counts')).toHaveText('3 busy · 27 idle');
    await panel.locator('.jp-ActiveSessions-ended > summary').click();
    const ends = panel.locator('.jp-ActiveSessions-endedRow');
    // (The server keeps the kernels earlier tests ended too.) The failed
    // start once the restarter gave up: a few seconds.
    const reasons = ends.locator('.jp-ActiveSessions-reason');
    for (const reason of [
      'killed by signal 11, restarted',
      'killed by signal 9, restarted',
      /^culled after \d+s idle$/,
      'failed to start: exited with code 1'
    ]) {
      await expect(reasons.filter({ hasText: reason })).toHaveCount(1, { timeout: 60_000 });
    }
    await expect(
      ends.filter({ hasText: 'Python 3 (old env)' }).locator('.jp-ActiveSessions-faultLine')
    ).toHaveText(/No module named ipykernel_not_installed$/);
    const crash = ends.filter({ hasText: 'spectra-calibration.ipynb' });
    await crash.locator('.jp-ActiveSessions-endedToggle').click();
    await crash.locator('.jp-ActiveSessions-lastWords > summary').click();
    await expect(crash.locator('.jp-ActiveSessions-lastWords pre')).toContainText('MARKER-lw7');
    // The window as tall as the panel's content: all of it in the pictures.
    const size = page.viewportSize()!;
    const [shown, content] = await panel.evaluate(e => [
      e.clientHeight,
      e.querySelector('.jp-ActiveSessions-body')!.scrollHeight
    ]);
    await page.setViewportSize({ width: size.width, height: size.height - shown + content });
    // Out of the pointer's way: no hover highlights in the pictures.
    await page.mouse.move(900, 10);
    const shoot = async (name: string) => {
      // axe-core: nothing serious or critical (contrast included) in what is new.
      const results = await new AxeBuilder({ page }).include('.jp-ActiveSessions-ended').analyze();
      const serious = results.violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.nodes.length} nodes, e.g. ${v.nodes[0].html}`);
      expect(serious, name).toEqual([]);
      await panel.screenshot({ path: testInfo.outputPath(name) });
      if (SHOTS) {
        await panel.screenshot({ path: path.join(SHOTS, name) });
      }
    };
    await shoot('last-words-light.png');
    await theme(page, 'JupyterLab Dark');
    await shoot('last-words-dark.png');
    await theme(page, 'JupyterLab Light');
  } finally {
    fs.rmSync(broken, { recursive: true, force: true });
  }
});
});
