/**
 * The wheel of this repository beside other Jupyters (make test-compat): each
 * project runs ui-tests/compat/ against the server of one venv of
 * tests/compat_venv.py (compat_server.py), where the wheel was installed with
 * no node on PATH. Which venvs: compat_venv.py's CHECKED, or those
 * COMPAT_TARGETS names ("all": every minor version of JupyterLab 4 and
 * Notebook 7).
 */
const { execFileSync } = require('child_process');
const path = require('path');

const base = require('./playwright.config.js');

const targets = JSON.parse(
  execFileSync('python', [path.join(__dirname, '..', 'tests', 'compat_venv.py'), 'targets'], {
    encoding: 'utf-8'
  })
);

module.exports = {
  ...base,
  testDir: './compat',
  testMatch: '*.compat.ts',
  reporter: [['list']],
  projects: Object.entries(targets).map(([name, t]) => ({
    name,
    metadata: { app: t.app },
    use: { baseURL: `http://localhost:${t.port}` }
  })),
  webServer: Object.entries(targets).map(([name, t]) => ({
    command: `python compat_server.py ${name}`,
    url: `http://localhost:${t.port}${t.app === 'lab' ? '/lab' : '/tree'}`,
    // A venv is made on first use (about a minute; the wheel first if HEAD changed).
    timeout: 600 * 1000,
    reuseExistingServer: false
  }))
};
