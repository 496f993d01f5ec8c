/**
 * The panel's core scenario in each Jupyter the wheel was installed beside
 * (playwright-compat.config.js: JupyterLab 4.0, 4.4 and 4.6, Notebook 7.0):
 * a notebook runs a cell with two queued behind it; the panel shows the
 * running cell and the queue; clicking the running code lands on that cell
 * (scrolled into view, the page still answering); when the cells have run,
 * the row's history lists them. And a cell that segfaults its kernel: the
 * notification, its "Go to cell" and "Show details" (JupyterLab's
 * Notification API, as old as 4.0). Plain Playwright, not Galata's
 * fixtures: those follow the newest JupyterLab.
 */
import * as path from 'path';

import { APIRequestContext, expect, Page, test } from '@playwright/test';

import { notebookContent } from '../tests/helpers';

const SHOTS = process.env.SCREENSHOT_DIR;
const EXTENSION = 'jupyter-session-ext';
const row = '.jp-ActiveSessions-row';
// The running cell waits for this file (in the server's root), so the test
// decides when it ends instead of guessing a duration.
const RELEASE = 'release';
const RUNNING = `import os, time\nwhile not os.path.exists('${RELEASE}'):\n    time.sleep(0.05)`;
// Tall enough that the running cell is out of view once the last cell is selected.
const TALL = Array.from({ length: 80 }, (_, i) => `line ${i + 1}`).join('\n');

/** A notebook of these cells: the running one, a tall raw one, two queued. */
function content(): object {
  const nb = notebookContent([RUNNING, 'second = 2', 'third = 3']) as any;
  nb.cells.splice(1, 0, { cell_type: 'raw', source: TALL, metadata: {} });
  return nb;
}

const STUCK = 'no answer: the page is stuck';

/** `fn(arg)` run in the page, or STUCK if the page does not answer within
 * `ms` (a tab whose main thread spins never does). */
async function live<T>(
  page: Page,
  ms: number,
  fn: (arg: string) => T | Promise<T>,
  arg = ''
): Promise<T | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<string>(resolve => {
    timer = setTimeout(() => resolve(STUCK), ms);
  });
  // Not left to reject unhandled when the page closes while stuck.
  const answer = page.evaluate(fn, arg).catch((e: Error) => e.message);
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the cell showing `text` is: active and in the notebook's view, or not. */
function landed(text: string): Promise<string> {
  const cell = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).find(c =>
    c.textContent?.includes(text)
  );
  if (!cell) {
    return Promise.resolve('not on the page');
  }
  if (!cell.classList.contains('jp-mod-active')) {
    return Promise.resolve('not active');
  }
  // Clipped by the notebook's scroller as the user sees it.
  return new Promise(resolve => {
    const observer = new IntersectionObserver(([entry]) => {
      observer.disconnect();
      resolve(entry.intersectionRatio > 0 ? 'active, in view' : 'active, out of view');
    });
    observer.observe(cell);
  });
}

/** What this extension's bundle, as the server serves it, requires of each
 * shared module: the range as webpack writes it in its warnings ("^4.0.0"). */
async function bundleRequires(
  page: Page,
  request: APIRequestContext
): Promise<Map<string, string>> {
  const config = JSON.parse((await page.locator('#jupyter-config-data').textContent()) ?? '{}');
  const ours = config.federated_extensions.find((e: any) => e.name === EXTENSION);
  const url = `${config.fullLabextensionsUrl}/${EXTENSION}/${ours.load}`;
  const code = await (await request.get(url)).text();
  const required = new Map<string, string>();
  // Each consumed module is loaded as ("default", name, eager, range); [1,a,b,c] is ^a.b.c.
  for (const [, name, range] of code.matchAll(
    /\("default", ?"([^"]+)", ?(?:false|!1), ?\[([\d,]+)\]\)/g
  )) {
    const [kind, ...version] = range.split(',');
    expect(kind, `${name}: a caret range`).toBe('1');
    required.set(name, `^${version.join('.')}`);
  }
  return required;
}

test.afterEach(async ({ request }) => {
  await request.delete(`/api/contents/${RELEASE}`).catch(() => undefined);
  const kernels = await (await request.get('/api/kernels')).json();
  await Promise.all(kernels.map((k: any) => request.delete(`/api/kernels/${k.id}`)));
});

test('running cell, queue, the jump to the cell, history', async ({ page, request }, testInfo) => {
  const app = testInfo.project.metadata.app as 'lab' | 'notebook';
  const name = `compat-${testInfo.project.name}.ipynb`;
  // What the page reports: uncaught errors (whose stack says whose they
  // are), and the shared modules webpack found older than some bundle requires.
  const errors: { message: string; ours: boolean; afterJump: boolean }[] = [];
  let jumped = false;
  const warnings: string[] = [];
  page.on('pageerror', e =>
    errors.push({
      message: e.message,
      ours: `${e.stack}`.includes(`/${EXTENSION}/`),
      afterJump: jumped
    })
  );
  page.on('console', m => {
    if (m.type() === 'warning') {
      warnings.push(m.text());
    }
  });

  const put = await request.put(`/api/contents/${name}`, {
    data: { type: 'notebook', content: content() }
  });
  expect(put.ok()).toBe(true);
  await page.goto(app === 'lab' ? `/lab/tree/${name}?reset` : `/notebooks/${name}`);

  // The notebook's kernel connected and idle, as the page sees it.
  await page.waitForFunction(
    () => {
      const kernel = (window as any).jupyterapp?.shell.currentWidget?.sessionContext?.session
        ?.kernel;
      return kernel?.connectionStatus === 'connected' && kernel?.status === 'idle';
    },
    undefined,
    { timeout: 60_000 }
  );
  await page.evaluate(() => (window as any).jupyterapp.shell.activateById('jp-active-sessions'));
  await expect(page.locator('#jp-active-sessions')).toBeVisible();

  // Run all (not awaited: the first cell runs until released).
  await page.evaluate(() => {
    void (window as any).jupyterapp.commands.execute('notebook:run-all-cells');
  });
  const busy = page.locator(`${row}.jp-mod-busy`);
  await expect(busy).toBeVisible({ timeout: 30_000 });
  await busy.locator('.jp-ActiveSessions-line').click();
  const running = busy.locator('.jp-ActiveSessions-active');
  await expect(running.locator('pre')).toContainText(`os.path.exists('${RELEASE}')`);
  await expect(busy.locator('.jp-ActiveSessions-pending')).toContainText('2 queued');
  if (SHOTS) {
    await page.screenshot({ path: path.join(SHOTS, `compat-${testInfo.project.name}.png`) });
  }
  await page.screenshot({ path: testInfo.outputPath('running-and-queued.png') });

  // The last cell selected, the notebook scrolled down: the running cell is
  // out of view (with windowing, not even on the page).
  const runningCell = page.locator('.jp-Notebook .jp-Cell', { hasText: RELEASE });
  const lastCell = page.locator('.jp-Notebook .jp-Cell', { hasText: 'third = 3' });
  await lastCell.locator('.jp-InputArea-editor').click();
  await expect(lastCell).toHaveClass(/jp-mod-active/);
  await expect(runningCell).not.toBeInViewport();

  // The jump: the running cell becomes the active one, in view, and the
  // page keeps answering (two frames on too).
  jumped = true;
  const clicked = running.click().then(
    () => 'clicked',
    (e: Error) => e.message
  );
  // (With what the page threw meanwhile, if anything: the reason it did not land.)
  const where = async () => {
    const place = await live(page, 10_000, landed, RELEASE);
    const thrown = errors.filter(e => e.afterJump).map(e => e.message);
    return thrown.length ? `${place}; uncaught: ${thrown.join('; ')}` : place;
  };
  await expect.poll(where, { timeout: 20_000 }).toBe('active, in view');
  const twoFramesOn = () =>
    new Promise<number>(resolve =>
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(1 + 1)))
    );
  expect(await live(page, 10_000, twoFramesOn), 'the page answers after the jump').toBe(2);
  expect(await clicked).toBe('clicked');
  // Alone selected (with windowing the other cells may be off the page: ask the notebook).
  const selected = () =>
    page.evaluate(() => {
      const notebook = (window as any).jupyterapp.shell.currentWidget.content;
      return notebook.widgets
        .map((cell: any, i: number) => (notebook.isSelectedOrActive(cell) ? i : -1))
        .filter((i: number) => i >= 0);
    });
  await expect.poll(selected).toEqual([0]);
  if (app === 'notebook') {
    // Notebook 7: the jump stays in this tab, on this notebook.
    expect(page.url()).toContain(`/notebooks/${name}`);
  }

  // Released, the three cells run; the history lists them. (Not checked: in
  // which order. The server lists them in the order it saw them end, which
  // for cells ending within milliseconds is not always the order they ran.)
  const release = await request.put(`/api/contents/${RELEASE}`, {
    data: { type: 'file', format: 'text', content: '' }
  });
  expect(release.ok()).toBe(true);
  const idle = page.locator(`${row}.jp-mod-idle`);
  await expect(idle).toBeVisible({ timeout: 30_000 });
  const history = idle.locator('.jp-ActiveSessions-history li');
  await expect(history).toHaveCount(3);
  expect((await history.locator('code').allTextContents()).sort()).toEqual([
    expect.stringMatching(/^import os/),
    'second = 2',
    'third = 3'
  ]);
  await expect(idle.locator('.jp-ActiveSessions-history li.jp-mod-ok')).toHaveCount(3);

  // Nothing thrown from this extension's code (Notebook 7.6.5 throws one of
  // its own while loading, with or without this extension).
  expect(errors.filter(e => e.ours).map(e => e.message)).toEqual([]);
  // webpack found every shared module this bundle takes at a version it accepts.
  const required = await bundleRequires(page, request);
  expect(required.get('@jupyterlab/application')).toBeDefined();
  const unsatisfied = warnings.filter(w => {
    const m = w.match(/of shared singleton module (\S+) \(required (\S+)\)/);
    return m !== null && required.get(m[1]) === m[2];
  });
  expect(unsatisfied, 'shared modules older than this bundle requires').toEqual([]);
});

// A cell that segfaults the kernel (jupyter_client's restarter starts another).
const CRASH = 'import ctypes\nctypes.string_at(0)  # the crash';

test('a crash: the notification, its "Go to cell", the panel at the crash', async ({
  page,
  request
}, testInfo) => {
  const app = testInfo.project.metadata.app as 'lab' | 'notebook';
  const name = `crash-${testInfo.project.name}.ipynb`;
  const errors: string[] = [];
  page.on('pageerror', e => {
    if (`${e.stack}`.includes(`/${EXTENSION}/`)) {
      errors.push(e.message);
    }
  });
  const nb = notebookContent([CRASH, 'after = 1']) as any;
  nb.cells.splice(1, 0, { cell_type: 'raw', source: TALL, metadata: {} });
  const put = await request.put(`/api/contents/${name}`, {
    data: { type: 'notebook', content: nb }
  });
  expect(put.ok()).toBe(true);
  await page.goto(app === 'lab' ? `/lab/tree/${name}?reset` : `/notebooks/${name}`);
  await page.waitForFunction(
    () => {
      const kernel = (window as any).jupyterapp?.shell.currentWidget?.sessionContext?.session
        ?.kernel;
      return kernel?.connectionStatus === 'connected' && kernel?.status === 'idle';
    },
    undefined,
    { timeout: 60_000 }
  );

  // The crash cell run; JupyterLab's own dialog says the kernel died.
  await page.evaluate(() => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    panel.content.activeCellIndex = 0;
    void (window as any).jupyterapp.commands.execute('notebook:run-cell');
  });
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('died', { timeout: 30_000 });
  await dialog.locator('.jp-mod-accept').click();
  const toast = page.locator('.Toastify__toast', { hasText: 'the kernel died' });
  await expect(toast).toContainText(`${name}: the kernel died (Segmentation fault in cell [1], line 2)`, {
    timeout: 30_000
  });

  // From the last cell, the toast's "Go to cell" lands on the crash cell.
  const lastCell = page.locator('.jp-Notebook .jp-Cell', { hasText: 'after = 1' });
  await lastCell.locator('.jp-InputArea-editor').click();
  await expect(lastCell).toHaveClass(/jp-mod-active/);
  await toast.getByRole('button', { name: 'Go to cell' }).click();
  await expect.poll(() => live(page, 10_000, landed, 'the crash')).toBe('active, in view');

  // "Show details": the panel, at the crash, saying where.
  await toast.getByRole('button', { name: 'Show details' }).click();
  const end = page.locator('#jp-active-sessions .jp-ActiveSessions-endedRow.jp-mod-expanded');
  await expect(end.locator('.jp-ActiveSessions-faultLine')).toContainText(
    'Segmentation fault in cell [1]'
  );
  await expect(end.locator('.jp-ActiveSessions-reason')).toHaveText(
    'killed by signal 11, restarted'
  );
  expect(errors).toEqual([]);
});
