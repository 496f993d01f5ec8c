/**
 * The wheel of this repository beside other Jupyters (make test-compat): each
 * project runs ui-tests/compat/ against the server of one venv of
 * tests/compat_venv.py (compat_server.py), where the wheel was installed with
 * no node on PATH. COMPAT_TARGETS="lab-4.0 lab-4.6" runs some of them.
 */
const base = require('./playwright.config.js');

const TARGETS = [
  { name: 'lab-4.0', port: 8910, flavor: 'lab' },
  { name: 'notebook-7.0', port: 8911, flavor: 'notebook' },
  { name: 'lab-4.6', port: 8912, flavor: 'lab' },
  { name: 'lab-4.4', port: 8913, flavor: 'lab' }
];
const wanted = (process.env.COMPAT_TARGETS || '').split(/\s+/).filter(Boolean);
const targets = wanted.length ? TARGETS.filter(t => wanted.includes(t.name)) : TARGETS;
const entry = t => (t.flavor === 'lab' ? '/lab' : '/tree');

module.exports = {
  ...base,
  testDir: './compat',
  testMatch: '*.compat.ts',
  reporter: [['list']],
  projects: targets.map(t => ({
    name: t.name,
    metadata: { flavor: t.flavor },
    use: { baseURL: `http://localhost:${t.port}` }
  })),
  webServer: targets.map(t => ({
    command: `python compat_server.py ${t.name}`,
    url: `http://localhost:${t.port}${entry(t)}`,
    // A venv is made on first use (about a minute; the wheel first if HEAD changed).
    timeout: 600 * 1000,
    reuseExistingServer: false
  }))
};
