/**
 * Galata in real headless Chromium (Debian's /usr/bin/chromium: Playwright's
 * own browser download does not work on these machines). The test server is
 * started by Playwright from jupyter_server_test_config.py.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const PORT = 8899;

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
  webServer: {
    command: 'npm start',
    url: `http://localhost:${PORT}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: false
  }
};
