/**
 * The panel in the user's language. JupyterLab is switched to French as a
 * user does it (Settings › Language, then "Change and reload"), later to
 * Chinese through the same setting; its language packs translate
 * JupyterLab, and only our catalogs (found through the package's
 * `jupyterlab.locale` entry point) can translate the panel: every word
 * checked here is ours, and figures are written the language's way (Intl).
 * The settings editor shows our schema's titles in French (the server
 * translates schemas: translations.SchemaTranslation). A dozen kernels, some
 * busy with cells waiting behind; screenshots of the panel in each language
 * go to SCREENSHOT_DIR.
 *
 * Its own server (jupyter_server_languages_config.py): settings stored for
 * real, not served by Galata from the page.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { APIRequestContext } from '@playwright/test';
import * as path from 'path';

import { openNotebook, shutdownAll, startKernels, waitReady } from './helpers';

const SHOTS = process.env.SCREENSHOT_DIR;
const LANGUAGE_SETTINGS = '/lab/api/settings/@jupyterlab/translation-extension:plugin';
const panel = '#jp-active-sessions';
const row = '.jp-ActiveSessions-row';

test.use({
  autoGoto: false,
  mockSettings: false,
  viewport: { width: 1280, height: 800 },
  // Galata waits for a tab named "Launcher", which is "Lanceur" in French.
  waitForApplication: async ({}, use) => {
    await use(async page => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
    });
  }
});

test.afterEach(async ({ request }) => {
  await setLanguage(request, 'en');
  await shutdownAll(request);
});

async function setLanguage(request: APIRequestContext, locale: string): Promise<void> {
  const response = await request.put(LANGUAGE_SETTINGS, {
    data: { raw: JSON.stringify({ locale }) }
  });
  expect(response.ok()).toBe(true);
}

/** The panel, opened from its sidebar tab, whose caption is in the language. */
async function openPanel(page: IJupyterLabPageFixture, caption: string): Promise<void> {
  const tab = page.locator(`.jp-SideBar [title="${caption}"]`);
  await expect(tab).toBeVisible();
  if (!(await page.locator(panel).isVisible())) {
    await tab.click();
  }
  await expect(page.locator(panel)).toBeVisible();
}

async function command(page: IJupyterLabPageFixture, id: string, args: object = {}) {
  // What a command returns (a widget) is not sent back from the page.
  await page.evaluate(
    async ({ id, args }) => {
      await (window as any).jupyterapp.commands.execute(id, args);
    },
    { id, args }
  );
}

/** Cells sent to a kernel on a websocket of its own, one after the other
 * without waiting: the first runs, the others queue behind it. */
async function queue(page: IJupyterLabPageFixture, id: string, cells: string[]) {
  await page.evaluate(
    ({ id, cells }) =>
      new Promise<void>((resolve, reject) => {
        const base = (window as any).jupyterapp.serviceManager.serverSettings.wsUrl;
        const ws = new WebSocket(`${base}api/kernels/${id}/channels`);
        const session = crypto.randomUUID();
        ws.onerror = () => reject(new Error('kernel websocket failed'));
        ws.onopen = () => {
          for (const code of cells) {
            ws.send(
              JSON.stringify({
                channel: 'shell',
                header: {
                  msg_id: crypto.randomUUID(),
                  msg_type: 'execute_request',
                  session,
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
          }
          resolve();
        };
      }),
    { id, cells }
  );
}

async function shoot(page: IJupyterLabPageFixture, name: string, testInfo: any) {
  await page.locator(panel).evaluate(e => (e.scrollTop = 0));
  await page.locator(panel).screenshot({ path: testInfo.outputPath(name) });
  if (SHOTS) {
    await page.locator(panel).screenshot({ path: path.join(SHOTS, name) });
  }
}

test('the panel in French, then in Chinese, from our catalogs', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  test.setTimeout(180_000);
  const ids = await startKernels(request, 12);
  await waitReady(request, ids);
  await page.goto();
  // A notebook running a cell with two behind it (started in English: the
  // kernel goes on through the reloads below).
  const notebook = 'prévisions-2026.ipynb';
  await openNotebook(page, tmpPath, notebook, [
    'import time\ntime.sleep(600)  # entraîne le modèle\nprint("fini")',
    'evaluate = 1',
    "print('rapport')"
  ]);
  await page.menu.clickMenuItem('Run>Run All Cells');
  // Running, two behind it, on the server before the page reloads.
  await expect
    .poll(
      async () => {
        const list = await (await request.get('/api/active-sessions')).json();
        const s = list.sessions.find((s: any) => s.notebook_path?.endsWith(notebook));
        return s ? [s.status, s.execution_queue.length] : null;
      },
      { timeout: 60_000 }
    )
    .toEqual(['busy', 2]);

  // Settings › Language › French, as a user switches: JupyterLab asks, stores
  // the setting and reloads.
  await page.menu.clickMenuItem('Settings>Language>French (France) - Français (France)');
  await Promise.all([
    page.waitForEvent('framenavigated'),
    page.getByRole('button', { name: 'Change and reload' }).click()
  ]);
  // JupyterLab's translator sets the page's language once it has the catalogs.
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr-FR', { timeout: 60_000 });
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 60_000 });
  // JupyterLab's own words come from its language pack...
  await expect(page.locator('#jp-menu-panel')).toContainText('Fichier');
  // ...the panel's from our catalog only.
  await openPanel(page, 'Sessions actives');
  await expect(page.locator(`${panel} h2`)).toHaveText('Sessions actives');

  // Three more kernels busy with a queue (cells sent on websockets of their
  // own), the others idle.
  await expect(page.locator(`${row}`)).toHaveCount(13, { timeout: 60_000 });
  for (const id of ids.slice(0, 3)) {
    await queue(page, id, [
      'import time\ntime.sleep(600)  # charge les données',
      'resultats = 1',
      "print('ok')"
    ]);
  }

  const counts = page.locator('.jp-ActiveSessions-counts');
  // Plurals: "4 occupés · 9 inactifs".
  await expect(counts).toHaveText(/^4 occupés · 9 inactifs$/, { timeout: 60_000 });
  const running = page.locator(
    `${row}:has(.jp-ActiveSessions-title:text("${notebook}")) .jp-ActiveSessions-runningLine`
  );
  await expect(running.locator('.jp-ActiveSessions-runningQueue')).toHaveText('2 en attente');
  await expect(running).toHaveAttribute(
    'title',
    /^Aller à la cellule en cours d'exécution\u00a0: /
  );
  await expect(page.locator('.jp-ActiveSessions-filter')).toHaveAttribute(
    'placeholder',
    'Filtrer\u00a0: notebook, nom, utilisateur, code…'
  );
  await expect(page.locator('.jp-ActiveSessions-sort option')).toHaveText([
    'Statut',
    'Mémoire',
    'CPU',
    "Durée d'inactivité",
    'Démarrage (plus récent)',
    'Nom'
  ]);
  // Figures the French way: "45,2 Mo" (a decimal comma, French units),
  // "0 %" (a space before the sign).
  const memory = page.locator(`${row} .jp-ActiveSessions-memory`).first();
  await expect(memory).toHaveText(/^\d+(,\d)?\s?Mo$/, { timeout: 30_000 });
  await expect(page.locator(`${row} .jp-ActiveSessions-cpu`).first()).toHaveText(/^\d+\s%$/);
  const idleRow = page.locator(`${row}[data-session-id="${ids[5]}"]`);
  // Idle, or ready (never ran anything): either word is ours.
  await expect(idleRow.locator('.jp-ActiveSessions-dot')).toHaveAttribute(
    'title',
    /^(inactif|prêt)$/
  );
  await shoot(page, 'panel-fr-FR.png', testInfo);

  // The settings schema, as the server's settings API answers JupyterLab in
  // French: our schema's titles translated by the server (from our catalogs).
  const settings = await (await request.get('/lab/api/settings/jupyter-session-ext:plugin')).json();
  expect(settings.schema.title).toBe('Sessions actives');
  expect(settings.schema.properties.refreshInterval.title).toBe(
    "Intervalle d'actualisation (secondes)"
  );
  // The settings editor: our plugin listed and its fields titled in French.
  await command(page, 'settingeditor:open');
  const entry = page.locator('.jp-PluginList-entry', { hasText: 'Sessions actives' });
  await expect(entry).toHaveCount(1, { timeout: 30_000 });
  await entry.click();
  await expect(page.getByText("Intervalle d'actualisation (secondes)")).toBeVisible();
  await expect(page.getByText('Trier les noyaux par')).toBeVisible();
  await command(page, 'application:close-all');

  // Chinese: the same setting, another language.
  await setLanguage(request, 'zh_CN');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN', { timeout: 60_000 });
  await expect(page.locator('#jp-menu-panel')).toContainText('文件');
  await openPanel(page, '活动会话');
  await expect(page.locator(`${panel} h2`)).toHaveText('活动会话');
  await expect(counts).toHaveText(/^4 个忙碌 · 9 个空闲$/, { timeout: 60_000 });
  await expect(running.locator('.jp-ActiveSessions-runningQueue')).toHaveText('2 个排队中');
  await expect(page.locator('.jp-ActiveSessions-sort option').first()).toHaveText('状态');
  // Idle for "45秒" or "1分钟05秒": the Chinese way, from Intl in JupyterLab's language.
  await expect(idleRow.locator('.jp-ActiveSessions-timer')).toHaveText(/^(\d+分钟\s?)?\d+秒$/);
  await expect(idleRow.locator('.jp-ActiveSessions-dot')).toHaveAttribute('title', /^(空闲|就绪)$/);
  await shoot(page, 'panel-zh-CN.png', testInfo);
});
