/**
 * In Notebook 7 (7.6.5, in a venv of its own: peer_server.py), where each
 * document has a browser tab of its own: clicking the running cell's code in
 * the panel lands on that cell in the page that shows the notebook, and
 * neither blanks that page nor opens another.
 */
import { expect, test } from '@playwright/test';

import { notebookContent } from './helpers';

const NAME = 'seven.ipynb';
const row = '.jp-ActiveSessions-row';

test.afterEach(async ({ request }) => {
  const kernels = await (await request.get('/api/kernels')).json();
  await Promise.all(kernels.map((k: any) => request.delete(`/api/kernels/${k.id}`)));
});

test('the jump lands on the running cell in the page showing the notebook', async ({
  page,
  context,
  request
}, testInfo) => {
  const put = await request.put(`/api/contents/${NAME}`, {
    data: {
      type: 'notebook',
      content: notebookContent(['import time\ntime.sleep(20)', 'second = 2', 'third = 3'])
    }
  });
  expect(put.ok()).toBe(true);

  await page.goto(`/notebooks/${NAME}`);
  const cells = page.locator('.jp-Notebook .jp-CodeCell');
  await expect(cells).toHaveCount(3);
  await expect(page.locator('.jp-Notebook-ExecutionIndicator')).toHaveAttribute(
    'data-status',
    'idle',
    { timeout: 60_000 }
  );

  // Notebook 7 puts the panel in its left sidebar, from the View menu.
  await page.getByRole('menuitem', { name: 'View' }).click();
  await page.locator('.lm-Menu-item', { hasText: 'Left Sidebar' }).hover();
  await page.locator('.lm-Menu-item', { hasText: 'Show Active Sessions' }).click();
  await expect(page.locator('#jp-active-sessions')).toBeVisible();

  await page.getByRole('menuitem', { name: 'Run', exact: true }).click();
  await page.locator('[data-command="runmenu:run-all"]').click();
  const busy = page.locator(`${row}.jp-mod-busy`);
  await expect(busy).toBeVisible({ timeout: 30_000 });
  await busy.locator('.jp-ActiveSessions-line').click();
  await expect(busy.locator('.jp-ActiveSessions-active pre')).toContainText('time.sleep(20)');

  // Another cell is the active one; the click makes the running one active.
  await cells.nth(2).click();
  await expect(cells.nth(0)).not.toHaveClass(/jp-mod-active/);
  const pages = context.pages().length;
  await busy.locator('.jp-ActiveSessions-active').click();
  await expect(cells.nth(0)).toHaveClass(/jp-mod-active/);
  await expect(cells.nth(2)).not.toHaveClass(/jp-mod-selected/);
  await page.screenshot({ path: testInfo.outputPath('notebook7-jump.png') });

  // The page still shows the notebook, with its kernel; no tab was opened.
  expect(page.url()).toContain(`/notebooks/${NAME}`);
  await expect(cells).toHaveCount(3);
  await expect(page.locator('.jp-Notebook-ExecutionIndicator')).toHaveAttribute(
    'data-status',
    'busy'
  );
  await expect(page.getByText('Kernel Unknown')).toHaveCount(0);
  expect(context.pages().length).toBe(pages);
});
