// Unit tests of the panel's pure list logic (lib/sessions.js, built by tsc):
// filter, sort, header counts and totals, idle candidates, cull countdown.
// Run: jlpm test (node's own test runner; no browser, no JupyterLab).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  cullCountdown,
  idleLongerThan,
  liveSeconds,
  matches,
  progress,
  rowTitle,
  sortSessions,
  statusCounts,
  totals
} from '../../lib/sessions.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');

function session(id, fields = {}) {
  return {
    session_id: id,
    display_name: 'Python 3 (ipykernel)',
    kernel_name: 'python3',
    username: 'ada',
    notebook_path: null,
    jupyter_sessions: [],
    status: 'idle',
    idle_seconds: 0,
    busy_seconds: 0,
    awaiting_input: null,
    started: '2026-11-26T10:00:00Z',
    resource_usage: null,
    culling: null,
    execution_queue: { active: null, pending: [], length: 0 },
    ...fields
  };
}

const usage = (memory, cpu) => ({ memory_bytes: memory, cpu_percent: cpu });

test('a row is called by its notebook, or its name and short id', () => {
  assert.equal(
    rowTitle(session('abcdef0123', { notebook_path: 'a/b/train.ipynb' })),
    'train.ipynb'
  );
  assert.equal(rowTitle(session('abcdef0123')), 'abcdef01 · Python 3 (ipykernel)');
  const console_ = session('c1', { jupyter_sessions: [{ path: 'Console 1' }] });
  assert.equal(rowTitle(console_), 'Console 1');
});

test('the filter matches every word against notebook, names, user, id and code', () => {
  const s = session('k1', {
    notebook_path: 'reports/q3.ipynb',
    execution_queue: { active: { code: 'fit(model)' }, pending: [{ code: 'plot()' }], length: 1 }
  });
  assert.ok(matches(s, ''));
  assert.ok(matches(s, 'Q3'));
  assert.ok(matches(s, 'q3 fit'));
  assert.ok(matches(s, 'plot'));
  assert.ok(matches(s, 'ada'));
  assert.ok(!matches(s, 'q3 nothing'));
  assert.ok(!matches(session('k2'), 'q3'));
});

test('sorting by each key, ties keep the server order', () => {
  const list = [
    session('a', {
      resource_usage: usage(100, 5),
      idle_seconds: 10,
      started: '2026-11-26T09:00:00Z'
    }),
    session('b', {
      status: 'busy',
      resource_usage: usage(300, 90),
      started: '2026-11-26T11:00:00Z'
    }),
    session('c', { resource_usage: usage(200, 1), idle_seconds: 50, notebook_path: 'a.ipynb' }),
    session('d', { status: 'starting' })
  ];
  const ids = key => sortSessions(list, key, () => NOW, NOW).map(s => s.session_id);
  assert.deepEqual(ids('memory'), ['b', 'c', 'a', 'd']);
  assert.deepEqual(ids('cpu'), ['b', 'a', 'c', 'd']);
  assert.deepEqual(ids('status'), ['b', 'd', 'a', 'c']);
  assert.deepEqual(ids('idle'), ['c', 'a', 'b', 'd']);
  assert.deepEqual(ids('started'), ['b', 'c', 'd', 'a']);
  assert.deepEqual(ids('name'), ['a', 'c', 'b', 'd']); // 'a · Python…' < 'a.ipynb' < 'b · …'
  assert.deepEqual(
    list.map(s => s.session_id),
    ['a', 'b', 'c', 'd']
  ); // not mutated
});

test('header counts and totals', () => {
  const list = [
    session('a', { status: 'busy', resource_usage: usage(1e9, 50) }),
    session('b', { status: 'ready', resource_usage: usage(5e8, 1.5) }),
    session('c', { status: 'idle' }),
    session('d', { status: 'uninitialized' })
  ];
  assert.equal(statusCounts(list), '1 busy · 1 starting · 2 idle');
  assert.deepEqual(totals(list), { memory: 1.5e9, cpu: 51.5 });
});

test('idle for more than: idle and ready kernels only, timers counted on', () => {
  const fetched = NOW - 30_000; // the list is 30 s old
  const list = [
    session('long', { idle_seconds: 100 }),
    session('short', { idle_seconds: 10 }),
    session('ready', { status: 'ready', idle_seconds: 80 }),
    session('busy', { status: 'busy', busy_seconds: 500 }),
    session('input', { idle_seconds: 500, awaiting_input: { prompt: '' } })
  ];
  const ids = s => idleLongerThan(list, s, () => fetched, NOW).map(x => x.session_id);
  assert.deepEqual(ids(60), ['long', 'ready']);
  assert.deepEqual(ids(30), ['long', 'short', 'ready']);
  assert.deepEqual(ids(1000), []);
});

test('the cull countdown shows only when near and eligible', () => {
  const culling = { eligible: true, seconds_left: 300 };
  const s = session('k', { culling });
  assert.equal(cullCountdown(s, NOW - 10_000, 600, NOW), 290);
  assert.equal(cullCountdown(s, NOW, 60, NOW), null); // further than the warning
  assert.equal(
    cullCountdown(
      session('k', { culling: { eligible: false, seconds_left: null } }),
      NOW,
      600,
      NOW
    ),
    null
  );
  assert.equal(cullCountdown(session('k'), NOW, 600, NOW), null);
  assert.equal(cullCountdown(s, NOW - 1_000_000, 600, NOW), 0);
});

test('progress against the last run of the same cell', () => {
  const started = new Date(NOW - 30_000).toISOString();
  assert.equal(progress({ expected_seconds: 60, started }, NOW), 0.5);
  assert.equal(progress({ expected_seconds: 10, started }, NOW), 1);
  assert.equal(progress({ expected_seconds: null, started }, NOW), null);
  assert.equal(progress({ expected_seconds: 60, started: null }, NOW), null);
});

test('timers keep ticking from the server figure', () => {
  assert.equal(liveSeconds(10, 1000, 4500), 13);
  assert.equal(liveSeconds(10, 5000, 4000), 10);
});
