/**
 * Galata in real headless Chromium (Debian's /usr/bin/chromium: Playwright's
 * own browser download does not work on these machines). The test servers
 * are started by Playwright: jupyter_server_test_config.py for the panel's
 * tests, jupyter_server_culling_config.py (a server that culls idle
 * kernels after a few seconds) for server_culling.spec.ts alone, and
 * memory_server.py (a server inside a real memory cgroup) for memory.spec.ts,
 * peer_server.py (a peer in a venv of its own) for
 * server_documents.spec.ts and notebook7.spec.ts, and
 * jupyter_server_languages_config.py (JupyterLab's settings stored for real)
 * for languages.spec.ts.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// Each server's Jupyter and IPython folders, under a temporary folder of this
// run: the store, runtime files (left behind when Playwright kills a server),
// settings and the kernels' history stay out of the user's own
// (~/.jupyter, ~/.local/share/jupyter, ~/.ipython), and no server sees a
// kernel another ended. The extension's own config is still found: it is
// installed under the environment's etc/jupyter. Playwright loads this file
// again in each worker: the folder made by the first load is passed on.
if (!process.env.JSE_UI_TESTS_DIRS) {
  process.env.JSE_UI_TESTS_DIRS = fs.mkdtempSync(
    path.join(os.tmpdir(), 'galata-jupyter-')
  );
}
function ownDirs(server) {
  const root = path.join(process.env.JSE_UI_TESTS_DIRS, server);
  return {
    JUPYTER_CONFIG_DIR: path.join(root, 'config'),
    JUPYTER_DATA_DIR: path.join(root, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(root, 'runtime'),
    IPYTHONDIR: path.join(root, 'ipython')
  };
}

const PORT = 8899;
const CULLING_PORT = 8900;
const MEMORY_PORT = 8901;
const SERVER_DOCUMENTS_PORT = 8902;
const NOTEBOOK_PORT = 8903;
const LANGUAGES_PORT = 8904;

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
    {
      name: 'panel',
      testIgnore: [
        'server_culling.spec.ts',
        'memory.spec.ts',
        'server_documents.spec.ts',
        'notebook7.spec.ts',
        'languages.spec.ts'
      ]
    },
    {
      name: 'server-culling',
      testMatch: 'server_culling.spec.ts',
      use: { baseURL: `http://localhost:${CULLING_PORT}` }
    },
    {
      name: 'memory',
      testMatch: 'memory.spec.ts',
      use: { baseURL: `http://localhost:${MEMORY_PORT}` }
    },
    {
      name: 'server-documents',
      testMatch: 'server_documents.spec.ts',
      use: { baseURL: `http://localhost:${SERVER_DOCUMENTS_PORT}` }
    },
    {
      name: 'notebook7',
      testMatch: 'notebook7.spec.ts',
      use: { baseURL: `http://localhost:${NOTEBOOK_PORT}` }
    },
    {
      name: 'languages',
      testMatch: 'languages.spec.ts',
      use: { baseURL: `http://localhost:${LANGUAGES_PORT}` }
    }
  ],
  webServer: [
    {
      command: 'npm start',
      env: ownDirs('panel'),
      url: `http://localhost:${PORT}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    },
    {
      command: 'jupyter lab --config jupyter_server_culling_config.py',
      env: ownDirs('culling'),
      url: `http://localhost:${CULLING_PORT}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    },
    {
      // Inside a 3 GiB memory cgroup where one can be made (memory_server.py).
      command: 'python memory_server.py',
      env: ownDirs('memory'),
      url: `http://localhost:${MEMORY_PORT}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    },
    {
      // jupyter-server-documents in a venv of its own (made on first use).
      command: 'python peer_server.py server-documents',
      env: ownDirs('server-documents'),
      url: `http://localhost:${SERVER_DOCUMENTS_PORT}/lab`,
      timeout: 300 * 1000,
      reuseExistingServer: false
    },
    {
      // Notebook 7 in a venv of its own (made on first use).
      command: 'python peer_server.py notebook',
      env: ownDirs('notebook'),
      url: `http://localhost:${NOTEBOOK_PORT}/tree`,
      timeout: 300 * 1000,
      reuseExistingServer: false
    },
    {
      command: 'jupyter lab --config jupyter_server_languages_config.py',
      env: ownDirs('languages'),
      url: `http://localhost:${LANGUAGES_PORT}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    }
  ]
};
