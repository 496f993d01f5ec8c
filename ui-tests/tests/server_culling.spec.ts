/**
 * Against a server whose own culler takes kernels idle for 5 s: the row
 * counts down, and the culled kernel shows under "Recently ended" as culled.
 */
import { expect, test } from '@jupyterlab/galata';

test.use({ autoGoto: true });

test('a kernel culled by the server shows under "Recently ended"', async ({ page, request }) => {
  await page.click('.jp-SideBar [title="Active Sessions"]');
  const started = await request.post('/api/kernels', { data: { name: 'python3' } });
  expect(started.status()).toBe(201);
  const id = (await started.json()).id;
  const row = page.locator(`.jp-ActiveSessions-row[data-session-id="${id}"]`);
  // Within the warning time from the start: the countdown shows at once.
  await expect(row.locator('.jp-ActiveSessions-cull')).toContainText(/culled in \ds unless used/);
  await expect(row).toHaveCount(0, { timeout: 30_000 });
  const ended = page.locator('.jp-ActiveSessions-ended');
  await ended.locator('summary').click();
  const record = ended.locator(`[data-session-id="${id}"]`);
  await expect(record).toHaveClass(/jp-mod-culled/);
  await expect(record.locator('.jp-ActiveSessions-reason')).toContainText(/culled after \ds idle/);
});
