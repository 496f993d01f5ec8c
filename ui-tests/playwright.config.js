/**
 * Galata in real headless Chromium (Debian's /usr/bin/chromium: Playwright's
 * own browser download does not work on these machines). The test servers
 * are started by Playwright: jupyter_server_test_config.py for the panel's
 * tests, and jupyter_server_culling_config.py (a server that culls idle
 * kernels after a few seconds) for server_culling.spec.ts alone.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const PORT = 8899;
const CULLING_PORT = 8900;

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['html', { open: 'never' }]],
  retries: 0,
  workers: 1,
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${PORT}`,
    // Galata's defaults need Playwright's ffmpeg download; keep artifacts off.
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  projects: [
    { name: 'panel', testIgnore: 'server_culling.spec.ts' },
    {
      name: 'server-culling',
      testMatch: 'server_culling.spec.ts',
      use: { baseURL: `http://localhost:${CULLING_PORT}` }
    }
  ],
  webServer: [
    {
      command: 'npm start',
      url: `http://localhost:${PORT}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    },
    {
      command: 'jupyter lab --config jupyter_server_culling_config.py',
      url: `http://localhost:${CULLING_PORT}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    }
  ]
};
