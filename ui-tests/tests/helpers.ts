/**
 * What the browser tests and the browser benchmark share: opening the panel,
 * notebooks on disk, real kernels started, run and shut down through the
 * server's REST API or JupyterLab's own kernel API.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext } from '@playwright/test';

export async function openPanel(page: IJupyterLabPageFixture): Promise<void> {
  await page.click('.jp-SideBar [title="Active Sessions"]');
  await expect(page.locator('#jp-active-sessions')).toBeVisible();
}

/** A python3 notebook (nbformat JSON) with these code cells: its kernel
 * starts without a dialog. */
export function notebookContent(cells: string[]): object {
  return {
    cells: cells.map(source => ({
      cell_type: 'code',
      source,
      metadata: {},
      outputs: [],
      execution_count: null
    })),
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/** `notebookContent(cells)`, uploaded and opened. */
export async function openNotebook(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string,
  cells: string[] = ['']
): Promise<void> {
  const file = `${tmpPath}/${name}`;
  await page.contents.uploadContent(JSON.stringify(notebookContent(cells)), 'text', file);
  await page.notebook.openByPath(file);
  await page.notebook.activate(name);
}

/** Start `n` python3 kernels, a few at a time (the machines have two cores). */
export async function startKernels(request: APIRequestContext, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 5) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(5, n - i) }, () =>
        request.post('/api/kernels', { data: { name: 'python3' } })
      )
    );
    for (const response of batch) {
      expect(response.status()).toBe(201);
      ids.push((await response.json()).id);
    }
  }
  return ids;
}

/** Until every kernel of `ids` has answered and runs nothing. On timeout the
 * failure lists the kernels that did not, with what the server said of them. */
export async function waitReady(
  request: APIRequestContext,
  ids: string[],
  timeout = 180_000
): Promise<void> {
  const waiting = async (): Promise<string[]> => {
    const list = await (await request.get('/api/active-sessions')).json();
    const status = new Map<string, string>(
      list.sessions.map((s: any) => [s.session_id, s.status])
    );
    const kernels = await (await request.get('/api/kernels')).json();
    const state = new Map<string, string>(kernels.map((k: any) => [k.id, k.execution_state]));
    return ids
      .filter(id => !['ready', 'idle'].includes(status.get(id) ?? ''))
      .map(id => `${id}: ${status.get(id) ?? 'not listed'} (api/kernels: ${state.get(id)})`);
  };
  await expect.poll(waiting, { timeout, intervals: [500, 1000] }).toEqual([]);
}

/** Send code to kernels through JupyterLab's own kernel API (not awaited). */
export async function execute(
  page: IJupyterLabPageFixture,
  ids: string[],
  code: string
): Promise<void> {
  await page.evaluate(
    ({ ids, code }: { ids: string[]; code: string }) => {
      const kernels = (window as any).jupyterapp.serviceManager.kernels;
      for (const id of ids) {
        kernels.connectTo({ model: { id, name: 'python3' } }).requestExecute({ code });
      }
    },
    { ids, code }
  );
}

export async function shutdownAll(request: APIRequestContext): Promise<void> {
  const kernels = await (await request.get('/api/kernels')).json();
  await Promise.all(kernels.map((k: any) => request.delete(`/api/kernels/${k.id}`)));
}

/** Switch JupyterLab's theme and wait until its colours have loaded. */
export async function theme(page: IJupyterLabPageFixture, name: string): Promise<void> {
  await page.evaluate(
    theme => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme }),
    name
  );
  const dark = name.includes('Dark');
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', String(!dark));
  // The attribute changes before the theme's CSS has loaded: wait for its colours.
  const menuIsDark = () =>
    page.locator('#jp-menu-panel').evaluate(e => {
      const [r, g, b] = getComputedStyle(e).backgroundColor.match(/\d+/g)!.map(Number);
      return r + g + b < 384;
    });
  await expect.poll(menuIsDark, { timeout: 30_000 }).toBe(dark);
}
