/**
 * The panel's browser benchmark (`make bench-ui`): the test server and
 * Chromium of the browser tests, the specs in benchmarks/, no retries.
 */
const base = require('./playwright.config');

module.exports = {
  ...base,
  testDir: './benchmarks',
  testMatch: '*.bench.ts',
  reporter: [['list']],
  projects: undefined,
  webServer: base.webServer[0]
};
