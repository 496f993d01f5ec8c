/**
 * Everyone's UI tests beside this extension: Galata's own `runCell` and
 * `run` find the kernel's state by the words "Idle" and "Busy" in the status
 * bar. With our status bar item showing a kernel, they must still find
 * JupyterLab's own kernel status, and only it.
 */
import { expect, test } from '@jupyterlab/galata';

import { openNotebook } from './helpers';

test.use({ autoGoto: true });

test("Galata's runCell and run work with the status bar item showing", async ({
  page,
  tmpPath
}) => {
  await openNotebook(page, tmpPath, 'galata.ipynb', ['1 + 1', "'beside'", 'print(40 + 2)']);
  // Our item speaks for this notebook's kernel once it is up.
  await expect(page.locator('.jp-ActiveSessions-statusText')).toBeVisible();
  await expect(page.locator('#jp-main-statusbar >> text=Idle')).toHaveCount(1);

  await page.notebook.runCell(0);
  expect(await page.notebook.getCellTextOutput(0)).toEqual(['2']);

  await page.notebook.run();
  expect(await page.notebook.getCellTextOutput(1)).toEqual(["'beside'"]);
  expect(await page.notebook.getCellTextOutput(2)).toEqual(['42\n']);
  await expect(page.locator('#jp-main-statusbar >> text=Idle')).toHaveCount(1);
});
