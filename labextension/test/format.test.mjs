// Unit tests of the panel's pure formatting (lib/format.js, built by tsc).
// Run: jlpm test (node's own test runner; no browser, no JupyterLab).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  codePreview,
  endedReason,
  formatBytes,
  formatDuration,
  formatRelative,
  plain,
  statusBarLabel,
  statusBarText
} from '../../lib/format.js';

test('durations', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(59.9), '59s');
  assert.equal(formatDuration(65), '1m 05s');
  assert.equal(formatDuration(3720), '1h 02m');
  assert.equal(formatDuration(2 * 86400 + 3 * 3600), '2d 03h');
  assert.equal(formatDuration(-5), '0s');
});

test('relative times', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  assert.equal(formatRelative('2026-11-24T11:59:30Z', now), 'just now');
  assert.equal(formatRelative('2026-11-24T11:55:00Z', now), '5 min ago');
  assert.equal(formatRelative('2026-11-24T09:00:00Z', now), '3 h ago');
  assert.equal(formatRelative('2026-11-23T12:00:00Z', now), '1 day ago');
  assert.equal(formatRelative('not a date', now), '');
});

test('bytes', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(54_157_312), '54.2 MB');
  assert.equal(formatBytes(1_500_000_000), '1.5 GB');
});

test('code previews keep the first lines and mark cuts', () => {
  assert.equal(codePreview('a\nb\nc\n', 2), 'a\nb …');
  assert.equal(codePreview('a\nb', 5), 'a\nb');
  assert.equal(codePreview('abc', 3, true), 'abc …');
});

test('the status bar: figures beside the dot, the words in the label', () => {
  assert.equal(statusBarText('busy', 12, 0, 3, false), 'running 12s · 3 queued');
  assert.equal(statusBarText('idle', 0, 250, 0, false), '4m 10s');
  assert.equal(statusBarText('ready', 0, 5, 1, false), '5s · 1 queued');
  assert.equal(statusBarText('busy', 5, 0, 0, true), 'waiting for input');
  assert.equal(statusBarText('exited', 0, 0, 0, false), 'exited');
  assert.equal(statusBarLabel('busy', 12, 0, 3, false), 'Kernel busy for 12s, 3 queued');
  assert.equal(statusBarLabel('idle', 0, 250, 0, false), 'Kernel idle for 4m 10s');
});

test('the status bar never reads as the kernel status Galata looks for', () => {
  // Galata: `#jp-main-statusbar >> text=Idle` (case-insensitive, a substring)
  // must find JupyterLab's own kernel status only; and no "Starting" while
  // a kernel is ready to run (its _waitUntilKernelReadyToScheduleExecution).
  for (const status of [
    'uninitialized',
    'starting',
    'ready',
    'idle',
    'busy',
    'offline',
    'exited'
  ]) {
    for (const input of [false, true]) {
      const text = statusBarText(status, 3, 3, 2, input);
      assert.doesNotMatch(text, /idle|busy/i, `${status}: ${text}`);
      assert.doesNotMatch(text, /Connecting|Initializing|Starting/, `${status}: ${text}`);
    }
  }
});

test('why a kernel ended, in one wording for the panel and the fleet page', async () => {
  const { endedReason, exitReason, firstLine } = await import('../../lib/format.js');
  const ended = { forced: false, by: null, signal: null, exit_code: null, idle_seconds: 3600 };
  assert.equal(endedReason({ ...ended, reason: 'culled' }), 'culled after 1h 00m idle');
  assert.equal(endedReason({ ...ended, reason: 'killed', signal: 9 }), 'killed by signal 9');
  assert.equal(endedReason({ ...ended, reason: 'exited', exit_code: 1 }), 'exited with code 1');
  assert.equal(endedReason({ ...ended, reason: 'shutdown', by: 'alice' }), 'shut down by alice');
  assert.equal(endedReason({ ...ended, reason: 'shutdown', forced: true }), 'killed');
  assert.equal(endedReason({ ...ended, reason: 'server_stopped' }), 'server stopped');
  // What a hostile server's answer becomes on the fleet page: nothing made up.
  assert.equal(endedReason({ ...ended, reason: 'other' }), 'ended');
  assert.equal(endedReason({ ...ended, reason: 'killed' }), 'killed');
  assert.equal(endedReason({ ...ended, reason: 'culled', idle_seconds: null }), 'culled');
  assert.equal(exitReason({ reason: 'restarted', signal: null, exit_code: null }), 'restarted');
  assert.equal(firstLine('\n  \nimport time\ntime.sleep(1)'), 'import time');
  assert.equal(firstLine('x'.repeat(90)), 'x'.repeat(79) + '…');
  assert.equal(firstLine(null), '');
});

test('memory: used of a limit, what a cell did, and an OOM kill said plainly', async () => {
  const { formatUsedOf, formatDelta, memoryCost, exitReason, endedReason, telltaleLine } =
    await import('../../lib/format.js');
  assert.equal(formatUsedOf(1.9e9, 2e9), '1.9 of 2.0 GB');
  assert.equal(formatUsedOf(2.9e9, 3221225472), '2.9 of 3.2 GB');
  assert.equal(formatUsedOf(150e6, 2e9), '0.1 of 2.0 GB');
  assert.equal(formatDelta(1.2e9), '+1.2 GB');
  assert.equal(formatDelta(-300e6), '−300 MB');
  assert.equal(formatDelta(12), '±0 B');
  const cost = memoryCost({
    memory_start_bytes: 100e6,
    memory_end_bytes: 400e6,
    memory_peak_bytes: 400e6
  });
  assert.equal(cost.text, '+300 MB');
  const spike = memoryCost({
    memory_start_bytes: 100e6,
    memory_end_bytes: 110e6,
    memory_peak_bytes: 900e6
  });
  assert.equal(spike.text, '+10.0 MB (peak +800 MB)');
  assert.match(spike.title, /100 MB at the start, 110 MB at the end, 900 MB at the highest/);
  assert.equal(
    memoryCost({ memory_start_bytes: null, memory_end_bytes: 1, memory_peak_bytes: 1 }),
    null
  );
  const oom = { reason: 'oom', signal: 9, exit_code: null, memory_bytes: 1.9e9, limit_bytes: 2e9 };
  assert.equal(exitReason(oom), 'killed: out of memory (1.9 of 2.0 GB)');
  assert.equal(endedReason(oom), 'killed: out of memory (1.9 of 2.0 GB)');
  assert.equal(
    exitReason({ ...oom, memory_bytes: 53e6 }),
    'killed: out of memory (limit 2.0 GB; last seen at 53.0 MB)'
  );
  assert.equal(exitReason({ reason: 'oom', signal: 9, exit_code: null }), 'killed: out of memory');
  // A busy row's line says what the cell does, not its imports.
  assert.equal(
    telltaleLine('import time\nfrom x import y\n# train\ntrain(model)'),
    'train(model) …'
  );
  assert.equal(telltaleLine('import time'), 'import time');
  assert.equal(telltaleLine('fit()'), 'fit()');
  assert.equal(telltaleLine(''), '');
});

// A bundle with a catalog, as JupyterLab's ITranslator loads one: each
// msgid looked up, %1… filled in (for _n, %1 is the count); and the language.
function bundle(catalog, locale) {
  const fill = (text, args) => text.replace(/%(\d+)/g, (m, i) => String(args[i - 1]));
  return {
    __: (msgid, ...args) => fill(catalog[msgid] ?? msgid, args),
    _n: (one, many, n, ...args) =>
      fill(catalog[n === 1 ? one : many] ?? (n === 1 ? one : many), [n, ...args]),
    locale
  };
}

test('the plain bundle fills in its arguments', () => {
  assert.equal(plain.__('%1 of %2 %3', '1.5', '2', 'GB'), '1.5 of 2 GB');
  assert.equal(plain._n('%1 day ago', '%1 days ago', 1), '1 day ago');
  assert.equal(plain._n('%1 day ago', '%1 days ago', 3), '3 days ago');
});

test('words go through the bundle given', () => {
  const fr = bundle(
    {
      'running %1': 'en cours %1',
      '%1 queued': '%1 en attente',
      'Kernel busy for %1': 'Noyau occupé depuis %1',
      'shut down by %1': 'arrêté par %1',
      'code hidden': 'code masqué'
    },
    'fr-FR'
  );
  assert.equal(statusBarText('busy', 12, 0, 3, false, fr), 'en cours 12s · 3 en attente');
  assert.equal(statusBarLabel('busy', 12, 0, 0, false, fr), 'Noyau occupé depuis 12s');
  assert.equal(
    endedReason({ reason: 'shutdown', by: 'alice', signal: null, exit_code: null }, fr),
    'arrêté par alice'
  );
  const now = Date.parse('2026-11-24T12:00:00Z');
  assert.equal(formatRelative('2026-11-21T12:00:00Z', now, fr), 'il y a 3 jours');
  assert.equal(codePreview(null, 3, false, fr), 'code masqué');
  // Without a bundle, the English as before (the fleet page has none).
  assert.equal(statusBarText('busy', 12, 0, 3, false), 'running 12s · 3 queued');
});

// Intl's spaces: French puts a no-break space between a figure and its unit
// or percent sign, narrow (U+202F) or not (U+00A0) as the ICU version has
// it: read as plain spaces here.
const sp = s => s.replace(/[\u00a0\u202f]/g, ' ');

test('figures in the language of the bundle: English, French, Chinese', async () => {
  const { formatDateTime, formatDelta, formatPercent, formatUsedOf, intlLocale } =
    await import('../../lib/format.js');
  const en = bundle({}, 'en');
  const fr = bundle({ '%1 of %2': '%1 sur %2' }, 'fr-FR');
  const zh = bundle({ '%1 of %2': '%1 / %2' }, 'zh-CN');
  const now = Date.parse('2026-11-24T12:00:00Z');

  // Durations: the two largest units, the second padded; English as by hand.
  for (const seconds of [0, 59.9, 65, 3720, 2 * 86400 + 3 * 3600]) {
    assert.equal(formatDuration(seconds, en), formatDuration(seconds));
  }
  assert.equal(formatDuration(65, fr), '1min 05s');
  assert.equal(formatDuration(3720, fr), '1h 02min');
  assert.equal(formatDuration(2 * 86400 + 3 * 3600, fr), '2j 03h');
  assert.equal(formatDuration(65, zh), '1分钟05秒');
  assert.equal(formatDuration(3720, zh), '1小时02分钟');
  assert.equal(formatDuration(12, zh), '12秒');

  // Sizes: decimal units, the language's separator and unit symbols.
  assert.equal(formatBytes(54_157_312, en), '54.2 MB');
  assert.equal(formatBytes(1_500_000_000, en), '1.5 GB');
  assert.equal(formatBytes(512, en), '512 B');
  assert.equal(sp(formatBytes(54_157_312, fr)), '54,2 Mo');
  assert.equal(sp(formatBytes(1_500_000_000, fr)), '1,5 Go');
  assert.equal(sp(formatBytes(512, fr)), '512 o');
  assert.equal(formatBytes(54_157_312, zh), '54.2 MB');
  assert.equal(formatUsedOf(1.9e9, 2e9, en), '1.9 of 2.0 GB');
  assert.equal(sp(formatUsedOf(1.9e9, 2e9, fr)), '1,9 sur 2,0 Go');
  assert.equal(formatUsedOf(1.9e9, 2e9, zh), '1.9 / 2.0 GB');
  assert.equal(sp(formatDelta(-300e6, fr)), '−300 Mo');
  assert.equal(formatDelta(12, en), '±0 B');

  // Percentages.
  assert.equal(formatPercent(12.4, en), '12%');
  assert.equal(sp(formatPercent(12.4, fr)), '12 %');
  assert.equal(formatPercent(12.4, zh), '12%');

  // Relative times and dates.
  assert.equal(formatRelative('2026-11-24T11:59:30Z', now, en), 'now');
  assert.equal(formatRelative('2026-11-24T11:55:00Z', now, en), '5 minutes ago');
  assert.equal(formatRelative('2026-11-23T12:00:00Z', now, en), 'yesterday');
  assert.equal(formatRelative('2026-11-24T11:55:00Z', now, fr), 'il y a 5 minutes');
  assert.equal(formatRelative('2026-11-24T09:00:00Z', now, fr), 'il y a 3 heures');
  assert.equal(formatRelative('2026-11-24T11:55:00Z', now, zh), '5分钟前');
  assert.equal(formatRelative('2026-11-22T12:00:00Z', now, zh), '前天');
  // (In the process's time zone, as the browser's: only the shape is checked.)
  assert.match(formatDateTime('2026-11-24T12:00:00Z', fr), /^\d+ nov\. 2026/);
  assert.match(formatDateTime('2026-11-24T12:00:00Z', zh), /^2026年11月\d+日/);
  assert.match(formatDateTime('2026-11-24T12:00:00Z', en), /^Nov \d+, 2026/);
  assert.equal(formatDateTime('not a date', en), '');

  // JupyterLab's language codes as Intl takes them.
  assert.equal(intlLocale('fr_FR'), 'fr-FR');
  assert.equal(intlLocale('zh-CN'), 'zh-CN');
  assert.equal(intlLocale(''), 'en');
  assert.equal(intlLocale('not a language!'), 'en');
});
