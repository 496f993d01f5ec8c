/**
 * Other extensions beside this one. Everyone's UI tests: Galata's own
 * `runCell` and `run` find the kernel's state by the words "Idle" and "Busy"
 * in the status bar; with our status bar item showing a kernel, they must
 * still find JupyterLab's own kernel status, and only it. And another
 * extension's plugin reaches our model through the `IActiveSessions` token.
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

test('another extension reaches the sessions through the IActiveSessions token', async ({
  page,
  tmpPath
}) => {
  await openNotebook(page, tmpPath, 'token.ipynb', ['1 + 1']);
  // As a plugin of another extension would: the token from our shared
  // module, the model from the application.
  const seen = await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    const container = (window as any)._JUPYTERLAB['jupyter-session-ext'];
    const { IActiveSessions } = (await container.get('./index'))();
    const sessions = await app.resolveRequiredService(IActiveSessions);
    await sessions.refresh();
    let changes = 0;
    sessions.changed.connect(() => (changes += 1));
    await sessions.refresh();
    const first = sessions.sessions[0];
    return {
      statusBarPlugin: app.isPluginActivated('jupyter-session-ext:status-bar'),
      paths: sessions.sessions.map((s: any) => s.notebook_path),
      found: sessions.session(first.session_id)?.session_id === first.session_id,
      fetched: sessions.fetchedAtOf(first.session_id) > 0,
      changes
    };
  });
  expect(seen.statusBarPlugin).toBe(true);
  expect(seen.paths).toEqual([`${tmpPath}/token.ipynb`]);
  expect(seen.found).toBe(true);
  expect(seen.fetched).toBe(true);
  expect(seen.changes).toBeGreaterThan(0);
});
