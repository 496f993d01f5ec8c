/**
 * The Active Sessions panel in a real JupyterLab, in real headless Chromium,
 * against real kernels: busy with queue, jump to the running cell, status bar,
 * interrupt, restart, shut down.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { openNotebook, openPanel } from './helpers';

const SHOTS = process.env.SCREENSHOT_DIR;

/** The panel's row of the only notebook session. */
const row = '.jp-ActiveSessions-row';

async function queueCells(page: IJupyterLabPageFixture, seconds: number) {
  await page.notebook.setCell(0, 'code', `import time\ntime.sleep(${seconds})  # train`);
  await page.notebook.addCell('code', 'evaluate = 1');
  await page.notebook.addCell('code', "print('report')");
  // Run all without waiting: the first cell sleeps, the others queue.
  await page.menu.clickMenuItem('Run>Run All Cells');
}

test.use({ autoGoto: true });

test.describe('Active Sessions panel', () => {
  test('opens from the sidebar and lists nothing without kernels', async ({ page }) => {
    await openPanel(page);
    await expect(page.locator('.jp-ActiveSessions-titleBar h2')).toHaveText('Active Sessions');
    await expect(page.locator('.jp-ActiveSessions-empty')).toHaveText('No running kernels.');
  });

  test('shows a busy notebook with its running cell and queue', async ({
    page,
    tmpPath
  }, testInfo) => {
    await openNotebook(page, tmpPath, 'train.ipynb');
    await openPanel(page);
    const session = page.locator(row);
    await expect(session).toHaveCount(1);
    await expect(session.locator('.jp-ActiveSessions-dot')).toHaveClass(/jp-mod-(ready|idle)/);
    await expect(session.locator('.jp-ActiveSessions-title')).toHaveText('train.ipynb');

    await queueCells(page, 30);
    const busy = page.locator(`${row}.jp-mod-busy`);
    await expect(busy).toBeVisible();
    // The busy timer ticks in the browser.
    await expect(busy.locator('.jp-ActiveSessions-timer')).toHaveText(/^[1-9]\d?s$/);
    // Enter on the focused row expands it.
    await busy.locator('.jp-ActiveSessions-line').focus();
    await page.keyboard.press('Enter');
    await expect(busy.locator('.jp-ActiveSessions-active pre')).toContainText('time.sleep(30)');
    await expect(busy.locator('.jp-ActiveSessions-pending')).toContainText('2 queued');
    await busy.getByText('Process and kernel').click();
    await expect(busy.locator('tr', { hasText: 'Notebook' }).locator('td')).toHaveText(
      `${tmpPath}/train.ipynb`
    );

    // Expanded, the queue lists the pending cells in order.
    await busy.getByText('2 queued').click();
    await expect(busy.locator('.jp-ActiveSessions-pendingEntry')).toHaveText([
      'evaluate = 1',
      "print('report')"
    ]);

    // The status bar item speaks for the notebook in front.
    await expect(page.locator('.jp-ActiveSessions-statusText')).toContainText(
      /running \d+s · 2 queued/
    );
    await expect(page.locator('.jp-ActiveSessions-statusText')).toHaveAttribute(
      'aria-label',
      /^Kernel busy for \d+s, 2 queued$/
    );
    if (SHOTS) {
      await page.screenshot({ path: path.join(SHOTS, 'lab-busy.png') });
    }
    await page.screenshot({ path: testInfo.outputPath('lab-busy.png') });

    // Clicking the running entry lands on that cell.
    await page.notebook.selectCells(2);
    const firstCell = (await page.notebook.getCellLocator(0))!;
    await expect(firstCell).not.toHaveClass(/jp-mod-active/);
    await busy.locator('.jp-ActiveSessions-active').click();
    await expect(firstCell).toHaveClass(/jp-mod-active/);
    expect(await page.notebook.isCellSelected(2)).toBe(false);

    // Interrupt from the row, by keyboard: Tab from the row's name reaches
    // its actions (its checkbox comes before the name); the cell stops, the
    // queue is aborted.
    await busy.locator('.jp-ActiveSessions-line').focus();
    await page.keyboard.press('Tab'); // its first action
    await expect(busy.getByRole('button', { name: 'Interrupt', exact: true })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.locator(`${row}.jp-mod-idle`)).toBeVisible();
    await expect(page.locator(`${row} .jp-ActiveSessions-active`)).toHaveCount(0);
    await expect(page.locator(`${row} .jp-ActiveSessions-pending`)).toHaveCount(0);
    // What ran is in the row's history: the interrupted cell, the aborted two.
    await expect(page.locator(`${row} .jp-ActiveSessions-history li`)).toHaveCount(3);
    await expect(
      page.locator(`${row} .jp-ActiveSessions-history li`).first()
    ).toContainText('aborted');
    await expect(page.notebook.getCellOutputLocator(0)).resolves.toBeTruthy();
  });

  test('restarts and shuts down from the panel', async ({ page, tmpPath }) => {
    await openNotebook(page, tmpPath, 'restart.ipynb');
    await page.notebook.setCell(0, 'code', 'answer = 42');
    await page.notebook.runCell(0);
    await openPanel(page);
    const session = page.locator(row);
    await expect(session.locator('.jp-ActiveSessions-dot')).toHaveClass(/jp-mod-(ready|idle)/);
    await session.locator('.jp-ActiveSessions-line').click();
    await session.getByText('Process and kernel').click();
    const pidRow = session.locator('tr', { hasText: 'Process id' }).locator('td');
    const pid = await pidRow.textContent();
    expect(Number(pid)).toBeGreaterThan(0);

    await session.getByRole('button', { name: 'Restart', exact: true }).click();
    await expect(session.locator('tr', { hasText: 'Restarts' }).locator('td')).toHaveText('1');
    await expect(pidRow).not.toHaveText(pid!);
    await expect(session.locator('tr', { hasText: 'Last exit' }).locator('td')).toContainText(
      'restarted'
    );

    // Shutting down asks first; cancel keeps the kernel.
    await session.getByRole('button', { name: 'Shut down', exact: true }).click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect(page.locator(row)).toHaveCount(1);
    await session.getByRole('button', { name: 'Shut down', exact: true }).click();
    await page
      .locator('.jp-Dialog')
      .getByRole('button', { name: 'Shut Down', exact: true })
      .click();
    await expect(page.locator(row)).toHaveCount(0);
    await expect(page.locator('.jp-ActiveSessions-empty')).toBeVisible();
    // Why it went: shut down, in "Recently ended".
    await page.locator('.jp-ActiveSessions-ended summary').click();
    await expect(page.locator('.jp-ActiveSessions-endedRow').first()).toContainText(
      'restart.ipynb'
    );
    await expect(page.locator('.jp-ActiveSessions-endedRow').first()).toContainText('shut down');
    // What it last ran, from the server's history of the ended kernel.
    await page.locator('.jp-ActiveSessions-endedRow').first().click();
    const ran = page.locator('.jp-ActiveSessions-endedHistory li');
    await expect(ran).toHaveCount(1);
    await expect(ran).toContainText('answer = 42');
    await expect(ran.locator('.jp-ActiveSessions-historyStatus')).toHaveText('ok');
    if (SHOTS) {
      await page
        .locator('.jp-ActiveSessions')
        .screenshot({ path: path.join(SHOTS, 'ended-history.png') });
    }
  });

  test('edits the display name inline', async ({ page, tmpPath }) => {
    await openNotebook(page, tmpPath, 'named.ipynb');
    await openPanel(page);
    const session = page.locator(row);
    await expect(session).toBeVisible();
    await session.locator('.jp-ActiveSessions-line').click();
    await session.getByRole('button', { name: 'Edit', exact: true }).click();
    const name = session.locator('.jp-ActiveSessions-edit input').first();
    await name.fill('Training run');
    await session.getByRole('button', { name: 'Save', exact: true }).click();
    await session.getByText('Process and kernel').click();
    await expect(session.locator('tr', { hasText: 'Kernel' }).first().locator('td')).toHaveText(
      'Training run (python3)'
    );
    // The server has it too.
    const list = await page.request.get('/api/active-sessions');
    const body = await list.json();
    expect(body.sessions[0].display_name).toBe('Training run');
  });
});
