// Unit tests of how a kernel's end is told (lib/format.js, lib/ends.js,
// built by tsc): the reason line where it faulted or why it never started,
// which ends are listed under "Recently ended" and which are announced.
// Run: jlpm test (node's own test runner; no browser, no JupyterLab).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EndsSeen, endCell, isDeath, recentEnds } from '../../lib/ends.js';
import {
  endNotice,
  endedReason,
  exitReason,
  faultLine,
  lastLine,
  plain,
  whyNoWords
} from '../../lib/format.js';

// Faults as the server's tests of real crashes record them
// (tests/test_last_words.py), with the server's own summary of each.
const SEGFAULT = {
  signal: 'SIGSEGV',
  message: 'Segmentation fault',
  cell_id: 'c-crash',
  execution_count: 2,
  line: 3,
  code_line: 'ctypes.string_at(0)  # line 3',
  inner: null
};
const INSIDE = {
  signal: 'SIGSEGV',
  message: 'Segmentation fault',
  cell_id: 'c3-run',
  execution_count: 3,
  line: 3,
  code_line: 'run(data)',
  inner: {
    cell_id: 'c1-define',
    execution_count: 1,
    line: 4,
    code_line: 'return ctypes.string_at(x)'
  }
};
const RUNNING = { ...SEGFAULT, line: null, code_line: null };

test("the reason line says what the server's summary says, in English", () => {
  assert.equal(
    faultLine(SEGFAULT),
    'Segmentation fault in cell [2] (c-crash), line 3: `ctypes.string_at(0)  # line 3`'
  );
  assert.equal(
    faultLine(INSIDE),
    'Segmentation fault in cell [3] (c3-run), line 3: `run(data)`, inside cell [1] (c1-define), line 4: `return ctypes.string_at(x)`'
  );
  // No frame named a cell: the one that was running.
  assert.equal(faultLine(RUNNING), 'Segmentation fault while running cell [2] (c-crash)');
  // A reader: the line, not its code.
  assert.equal(
    faultLine({ ...SEGFAULT, message: 'Aborted', signal: 'SIGABRT', code_line: null }),
    'Aborted in cell [2] (c-crash), line 3'
  );
  // No cell known at all; a cell with no id (run from a console or the API).
  assert.equal(
    faultLine({ ...RUNNING, cell_id: null, execution_count: null }),
    'Segmentation fault'
  );
  assert.equal(
    faultLine({ ...SEGFAULT, cell_id: null }),
    'Segmentation fault in cell [2], line 3: `ctypes.string_at(0)  # line 3`'
  );
  // Short, for a notification: no ids, no code.
  assert.equal(
    faultLine(INSIDE, plain, { short: true }),
    'Segmentation fault in cell [3], line 3, inside cell [1], line 4'
  );
});

test('the reason line in the language of the bundle; words it does not know as sent', () => {
  const fr = bundle({
    'Segmentation fault': 'Erreur de segmentation',
    '%1 in %2': '%1 dans %2',
    'cell [%1] (%2)': 'cellule [%1] (%2)',
    '%1, line %2: `%3`': '%1, ligne %2 : `%3`'
  });
  assert.equal(
    faultLine(SEGFAULT, fr),
    'Erreur de segmentation dans cellule [2] (c-crash), ligne 3 : `ctypes.string_at(0)  # line 3`'
  );
  // What the fault handler says of something else is the kernel's words.
  assert.equal(
    faultLine(
      { ...RUNNING, message: 'Trace/breakpoint trap', cell_id: null, execution_count: null },
      fr
    ),
    'Trace/breakpoint trap'
  );
});

test('a start that failed: its exit code or signal, and what it said last', () => {
  const failed = { reason: 'failed_to_start', signal: null, exit_code: 3 };
  assert.equal(endedReason(failed), 'failed to start: exited with code 3');
  assert.equal(
    exitReason({ ...failed, exit_code: null, signal: 9 }),
    'failed to start: killed by signal 9'
  );
  assert.equal(endedReason({ ...failed, exit_code: null }), 'failed to start');
  assert.equal(
    lastLine(
      "Traceback (most recent call last):\n  ...\nModuleNotFoundError: No module named 'nowhere'\n\n"
    ),
    "ModuleNotFoundError: No module named 'nowhere'"
  );
  assert.equal(lastLine(''), '');
  assert.equal(lastLine('x'.repeat(300)).length, 200);
});

test('why there is no text, said plainly', () => {
  assert.match(whyNoWords('hidden'), /hidden: you may see these kernels, not run code on them/);
  assert.match(whyNoWords('remote'), /gateway/);
  assert.match(whyNoWords('not_captured'), /not kept/);
  assert.equal(whyNoWords(null), null);
});

test('what a notification says', () => {
  const crash = {
    reason: 'killed',
    signal: 11,
    exit_code: null,
    restarted: true,
    last_words: { text: '…', fault: SEGFAULT }
  };
  assert.equal(
    endNotice(crash, 'crash.ipynb'),
    'crash.ipynb: the kernel died (Segmentation fault in cell [2], line 3). It was restarted.'
  );
  assert.equal(
    endNotice({ ...crash, signal: 9, restarted: false, last_words: null }, 'a.ipynb'),
    'a.ipynb: the kernel died (killed by signal 9)'
  );
  assert.equal(
    endNotice(
      { reason: 'oom', signal: 9, exit_code: null, memory_bytes: 1.9e9, limit_bytes: 2e9 },
      'big.ipynb'
    ),
    'big.ipynb: the kernel died (killed: out of memory (1.9 of 2.0 GB))'
  );
  assert.equal(
    endNotice(
      {
        reason: 'failed_to_start',
        signal: null,
        exit_code: 3,
        last_words: { text: 'kernel-boom: no module named nowhere\n', fault: null }
      },
      '1a2b3c4d · Fails'
    ),
    '1a2b3c4d · Fails: the kernel failed to start (exited with code 3): kernel-boom: no module named nowhere'
  );
  // Short enough for JupyterLab, which cuts a notification at 140 characters.
  assert.ok(endNotice(crash, '2026-q3-forecast-model-training.ipynb').length <= 140);
});

// An ended record and a running session as the server sends them (the
// fields these functions read).
function record(id, fields = {}) {
  return {
    session_id: id,
    display_name: 'Python 3 (ipykernel)',
    notebook_path: `${id}.ipynb`,
    reason: 'shutdown',
    ended: '2026-12-06T10:00:00Z',
    exit_code: null,
    signal: null,
    forced: false,
    by: null,
    idle_seconds: 0,
    memory_bytes: null,
    limit_bytes: null,
    last_words: { text: 'hello\n', why_null: null, truncated: false, summary: null, fault: null },
    last_execution: null,
    ...fields
  };
}

function session(id, lastExit, fields = {}) {
  return {
    session_id: id,
    display_name: 'Python 3 (ipykernel)',
    notebook_path: `${id}.ipynb`,
    jupyter_sessions: [],
    argv: ['python'],
    last_exit: lastExit,
    ...fields
  };
}

function lastExit(reason, ended, fields = {}) {
  return {
    ended,
    reason,
    exit_code: null,
    signal: null,
    memory_bytes: null,
    limit_bytes: null,
    last_words: null,
    ...fields
  };
}

const WORDS = { text: 'MARKER\n', why_null: null, truncated: false, summary: '…', fault: SEGFAULT };

test('"Recently ended" lists ended kernels and the crashes of restarted ones, newest first', () => {
  const ends = recentEnds(
    [record('gone', { ended: '2026-12-06T10:00:00Z' })],
    [
      session(
        'crashed',
        lastExit('killed', '2026-12-06T10:05:00Z', { signal: 11, last_words: WORDS })
      ),
      session('restarted', lastExit('restarted', '2026-12-06T10:06:00Z')),
      session('clean-exit', lastExit('exited', '2026-12-06T10:07:00Z', { exit_code: 0 })),
      session('fresh', null)
    ]
  );
  assert.deepEqual(
    ends.map(e => [e.session_id, e.restarted]),
    [
      ['crashed', true],
      ['gone', false]
    ]
  );
  assert.deepEqual(endCell(ends[0]), { path: 'crashed.ipynb', cellId: 'c-crash' });
  // No cell known, or no notebook: nowhere to go.
  assert.equal(endCell(ends[1]), null);
  const console_ = recentEnds(
    [],
    [
      session('c', lastExit('killed', '2026-12-06T10:05:00Z', { last_words: WORDS }), {
        notebook_path: null
      })
    ]
  );
  assert.equal(endCell(console_[0]), null);
});

test('deaths: a crash, a signal, the OOM killer, an error exit, a start that failed', () => {
  for (const [reason, exit_code, death] of [
    ['killed', null, true],
    ['oom', null, true],
    ['failed_to_start', 3, true],
    ['exited', 1, true],
    ['exited', null, true],
    ['exited', 0, false],
    ['shutdown', null, false],
    ['culled', null, false],
    ['server_stopped', null, false],
    ['server_lost', null, false],
    ['restarted', null, false]
  ]) {
    assert.equal(isDeath({ reason, exit_code }), death, `${reason} ${exit_code}`);
  }
});

test('each death is announced once, and none that was there when the page loaded', () => {
  const seen = new EndsSeen();
  const old = record('old', { reason: 'killed', signal: 11 });
  // Nothing until the server's list is complete (its store read after a start)…
  assert.deepEqual(seen.news(recentEnds([], []), false), []);
  // …then what the page finds is old news.
  assert.deepEqual(seen.news(recentEnds([old], []), true), []);
  const crash = session(
    'nb',
    lastExit('killed', '2026-12-06T10:05:00Z', { signal: 11, last_words: WORDS })
  );
  const first = seen.news(recentEnds([old], [crash]), true);
  assert.deepEqual(
    first.map(e => e.session_id),
    ['nb']
  );
  // The next polls bring the same ends: nothing more.
  assert.deepEqual(seen.news(recentEnds([old], [crash]), true), []);
  assert.deepEqual(seen.news(recentEnds([old], [{ ...crash }]), true), []);
  // It crashes again: a new end.
  const again = session('nb', lastExit('killed', '2026-12-06T10:09:00Z', { signal: 11 }));
  assert.deepEqual(
    seen.news(recentEnds([old], [again]), true).map(e => e.ended),
    ['2026-12-06T10:09:00Z']
  );
  // Ends that are not deaths are not announced (nor later, once seen).
  const shut = record('shut', { ended: '2026-12-06T10:10:00Z' });
  assert.deepEqual(seen.news(recentEnds([old, shut], [again]), true), []);
  // An incomplete list (the server restarted, its store not read yet) lacks
  // the old ends; they are not news when it is read.
  assert.deepEqual(seen.news(recentEnds([], []), false), []);
  assert.deepEqual(seen.news(recentEnds([old, shut], [again]), true), []);
  // A kernel that failed to start, ended: announced.
  const failed = record('broken', {
    reason: 'failed_to_start',
    exit_code: 3,
    ended: '2026-12-06T10:11:00Z'
  });
  assert.deepEqual(
    seen.news(recentEnds([failed, old, shut], [again]), true).map(e => e.reason),
    ['failed_to_start']
  );
});

test('a reader, who may not run code on the kernels, is not told of their deaths', () => {
  const seen = new EndsSeen();
  seen.news([], true);
  const hidden = { ...WORDS, text: null, why_null: 'hidden' };
  const readers = recentEnds(
    [record('r1', { reason: 'killed', signal: 9, last_words: hidden })],
    [
      session('r2', lastExit('killed', '2026-12-06T10:05:00Z', { signal: 11 }), { argv: null }),
      session('r3', lastExit('oom', '2026-12-06T10:06:00Z'), { argv: null })
    ]
  );
  assert.equal(readers.length, 3);
  assert.deepEqual(seen.news(readers, true), []);
});

// A bundle with a catalog, as JupyterLab's ITranslator loads one.
function bundle(catalog) {
  const fill = (text, args) => text.replace(/%(\d+)/g, (m, i) => String(args[i - 1]));
  return {
    __: (msgid, ...args) => fill(catalog[msgid] ?? msgid, args),
    _n: (one, many, n, ...args) =>
      fill(catalog[n === 1 ? one : many] ?? (n === 1 ? one : many), [n, ...args])
  };
}
