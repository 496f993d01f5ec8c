/**
 * The panel as a person first meets it: JupyterLab's default sidebar width
 * (not resized). A notebook's long name is readable, a busy row says what it
 * runs and what waits behind it without a click, every row shows its
 * kernel, and axe-core finds nothing serious with 30 kernels and a row open.
 * Screenshots (light and dark) go to SCREENSHOT_DIR.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import {
  openNotebook,
  openPanel,
  shutdownAll,
  startKernels,
  theme,
  waitReady
} from './helpers';

const SHOTS = process.env.SCREENSHOT_DIR;
const LONG_NAME = '2026-q3-forecast-model-training.ipynb'; // 37 characters
const row = '.jp-ActiveSessions-row';

test.use({ autoGoto: false, viewport: { width: 1280, height: 800 } });

test.afterEach(async ({ request }) => {
  await shutdownAll(request);
});

/** How many characters of an element's text are shown whole (before any
 * ellipsis): the widest prefix whose end lies inside the element. */
async function visibleCharacters(page: IJupyterLabPageFixture, selector: string): Promise<number> {
  return page.locator(selector).evaluate(el => {
    const text = el.firstChild as Text;
    const box = el.getBoundingClientRect();
    const ellipsis = el.scrollWidth > el.clientWidth ? 12 : 0; // room the "…" takes
    const range = document.createRange();
    let shown = 0;
    for (let k = 1; k <= text.length; k++) {
      range.setStart(text, 0);
      range.setEnd(text, k);
      if (range.getBoundingClientRect().right <= box.right - ellipsis + 0.5) {
        shown = k;
      }
    }
    return shown;
  });
}

test('readable at the default width, busy rows say what they run, accessible', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  test.setTimeout(360_000);
  const ids = await startKernels(request, 29);
  await waitReady(request, ids);
  await page.goto();
  await openNotebook(page, tmpPath, LONG_NAME, [
    'import time\ntime.sleep(60)  # the long cell\nprint("done")',
    'evaluate = 1',
    "print('report')"
  ]);
  await openPanel(page);
  const panelBox = (await page.locator('#jp-active-sessions').boundingBox())!;
  expect(Math.round(panelBox.width)).toBeLessThanOrEqual(260); // not resized: the default

  // The long name: at least 24 of its 37 characters, and the whole in its tooltip.
  const notebookRow = page.locator(row, {
    has: page.locator('.jp-ActiveSessions-title', { hasText: LONG_NAME })
  });
  await expect(notebookRow).toHaveCount(1, { timeout: 60_000 });
  const title = `${row}:has(.jp-ActiveSessions-title:text("${LONG_NAME}")) .jp-ActiveSessions-title`;
  expect(await visibleCharacters(page, title)).toBeGreaterThanOrEqual(24);
  await expect(notebookRow.locator('.jp-ActiveSessions-title')).toHaveAttribute(
    'title',
    new RegExp(`${LONG_NAME.replace(/\./g, '\\.')}$`)
  );

  // Busy, without a click: the cell's first line and what waits behind it.
  // Run all without waiting: the first cell sleeps, the others queue.
  await page.menu.clickMenuItem('Run>Run All Cells');
  const running = notebookRow.locator('.jp-ActiveSessions-runningLine');
  await expect(running.locator('.jp-ActiveSessions-runningCode')).toHaveText(
    'time.sleep(60)  # the long cell …'
  );
  await expect(running.locator('.jp-ActiveSessions-runningQueue')).toHaveText('2 queued');
  await expect(running).toBeVisible();

  // Every row shows its kernel: the kernelspec's logo, its name in the tooltip.
  const kernels = page.locator(`${row} .jp-ActiveSessions-kernel`);
  await expect(kernels).toHaveCount(30);
  for (const kernel of await kernels.all()) {
    await expect(kernel).toHaveAttribute('title', /^Python 3 \(ipykernel\) \(python3\)$/);
  }
  await expect(page.locator(`${row} img.jp-ActiveSessions-kernelLogo`)).toHaveCount(30);
  for (const logo of await page.locator(`${row} img.jp-ActiveSessions-kernelLogo`).all()) {
    await expect.poll(() => logo.evaluate(img => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
  }

  // One kernel holds some memory and is open: its chart and history show.
  const opened = ids[2];
  // Run to its end over the kernel's own websocket (the server needs no token here).
  await page.evaluate(
    ({ id, code }) =>
      new Promise<void>((resolve, reject) => {
        const base = (window as any).jupyterapp.serviceManager.serverSettings.wsUrl;
        const ws = new WebSocket(`${base}api/kernels/${id}/channels`);
        const msgId = crypto.randomUUID();
        ws.onerror = () => reject(new Error('kernel websocket failed'));
        ws.onopen = () =>
          ws.send(
            JSON.stringify({
              channel: 'shell',
              header: {
                msg_id: msgId,
                msg_type: 'execute_request',
                session: crypto.randomUUID(),
                username: 'test',
                date: new Date().toISOString(),
                version: '5.3'
              },
              parent_header: {},
              metadata: {},
              content: { code, silent: false, store_history: true, allow_stdin: false },
              buffers: []
            })
          );
        ws.onmessage = event => {
          const msg = JSON.parse(event.data);
          if (msg.msg_type === 'execute_reply' && msg.parent_header.msg_id === msgId) {
            ws.close();
            resolve();
          }
        };
      }),
    { id: opened, code: "ballast = b'x' * 150_000_000" }
  );
  const openedRow = page.locator(`${row}[data-session-id="${opened}"]`);
  await openedRow.locator('.jp-ActiveSessions-line').click();
  await expect(openedRow.locator('.jp-ActiveSessions-historyMemory').first()).toHaveText(
    /^\+1\d\d MB$/,
    { timeout: 30_000 }
  );

  // Keyboard: Enter toggles, Tab reaches the actions.
  const toggle = openedRow.locator('.jp-ActiveSessions-line');
  await toggle.focus();
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('Tab');
  await expect(openedRow.getByRole('button', { name: 'Interrupt', exact: true })).toBeFocused();

  // axe-core: nothing serious or critical in the panel, 30 kernels, one open.
  const results = await new AxeBuilder({ page }).include('#jp-active-sessions').analyze();
  const serious = results.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.length} nodes, e.g. ${v.nodes[0].html}`);
  expect(serious).toEqual([]);

  const shoot = async (name: string) => {
    await page.locator('#jp-active-sessions').screenshot({ path: testInfo.outputPath(name) });
    if (SHOTS) {
      await page.locator('#jp-active-sessions').screenshot({ path: path.join(SHOTS, name) });
    }
  };
  await page.locator('#jp-active-sessions').evaluate(e => (e.scrollTop = 0));
  await shoot('panel-default-width-light.png');
  await openedRow.scrollIntoViewIfNeeded();
  await shoot('panel-default-width-expanded-light.png');
  await theme(page, 'JupyterLab Dark');
  await page.locator('#jp-active-sessions').evaluate(e => (e.scrollTop = 0));
  await shoot('panel-default-width-dark.png');
  await openedRow.scrollIntoViewIfNeeded();
  await shoot('panel-default-width-expanded-dark.png');
  await theme(page, 'JupyterLab Light');
});
