/**
 * Beside jupyter-server-documents 0.3.3 (server-side documents and
 * execution, in a venv of its own: peer_server.py). Its frontend asks the
 * server to run cells (`POST /api/kernels/{id}/execute` with cell ids and a
 * hash of each source) and its own websocket connection class carries the
 * notebook's kernel traffic. Our record must list the queued cells with
 * their cell ids and code, count the browser's websocket, and the jump must
 * land on the running cell.
 */
import { expect, test } from '@jupyterlab/galata';

import { openNotebook, openPanel, shutdownAll } from './helpers';

// Galata tracks the kernels a test starts by reading the `id` of each POST
// answer under api/kernels, and jupyter-server-documents answers its
// `POST api/kernels/{id}/execute` with `null`: the tracking is turned off,
// and the test shuts its kernels down itself.
test.use({ autoGoto: true, kernels: null, sessions: null });

test.afterEach(async ({ request }) => {
  await shutdownAll(request);
});

const row = '.jp-ActiveSessions-row';

test('queued cells, cell ids, connection and the jump, beside jupyter-server-documents', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  // The peer's server side is loaded, and ours observes its connection class.
  const extensions = await page.evaluate(() =>
    JSON.parse(document.getElementById('jupyter-config-data')!.textContent!)
  );
  expect(extensions.serverSideExecution).toBe('true');

  await openNotebook(page, tmpPath, 'documents.ipynb', [
    'import time\ntime.sleep(6)',
    'second = 2',
    'third = 3'
  ]);
  await openPanel(page);
  await expect(page.locator(row)).toHaveCount(1);
  await expect(page.locator(`${row} .jp-ActiveSessions-dot`)).toHaveClass(
    /jp-mod-(ready|idle)/
  );
  const cellIds: string[] = await page.evaluate(() => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    return panel.content.widgets.map((cell: any) => cell.model.id);
  });
  await page.menu.clickMenuItem('Run>Run All Cells');

  const kernel = (await (await request.get('/api/kernels')).json())[0].id;
  const session = async () =>
    (await request.get(`/api/active-sessions/${kernel}`)).json();
  await expect
    .poll(async () => {
      const s = await session();
      return {
        status: s.status,
        running: s.execution_queue?.active?.cell_id ?? null,
        pending: (s.execution_queue?.pending ?? []).map((p: any) => [p.cell_id, p.code]),
        connected: s.connected
      };
    })
    .toEqual({
      status: 'busy',
      running: cellIds[0],
      pending: [
        [cellIds[1], 'second = 2'],
        [cellIds[2], 'third = 3']
      ],
      connected: true
    });

  const busy = page.locator(`${row}.jp-mod-busy`);
  await expect(busy).toBeVisible();
  await busy.locator('.jp-ActiveSessions-line').click();
  await expect(busy.locator('.jp-ActiveSessions-pending')).toContainText('2 queued');
  await page.screenshot({ path: testInfo.outputPath('server-documents-busy.png') });

  // Clicking the running entry lands on its cell.
  await page.notebook.selectCells(2);
  const firstCell = (await page.notebook.getCellLocator(0))!;
  await expect(firstCell).not.toHaveClass(/jp-mod-active/);
  await busy.locator('.jp-ActiveSessions-active').click();
  await expect(firstCell).toHaveClass(/jp-mod-active/);

  // When all ran, the history keeps each cell's id.
  await expect
    .poll(
      async () => {
        const history = await (
          await request.get(`/api/active-sessions/${kernel}/history`)
        ).json();
        return history.executions.map((e: any) => e.cell_id).reverse();
      },
      { timeout: 30_000 }
    )
    .toEqual(cellIds);
});
