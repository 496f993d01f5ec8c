/**
 * Pure formatting of session figures for display, the one source for the
 * panel and the JupyterHub fleet page (the build copies it to
 * jupyter_session_ext/hub/static/format.js). No DOM, no JupyterLab, no
 * import that stays at run time: unit-tested on its own
 * (labextension/test/format.test.mjs).
 *
 * Words go through a translation bundle (`t`): JupyterLab's, in the panel
 * (ITranslator, domain "jupyter_session_ext"), which also names the user's
 * language, in which numbers, sizes, durations and times are written through
 * `Intl`; `plain` English written by hand on the fleet page, which has no
 * JupyterLab.
 */

/** The part of JupyterLab's TranslationBundle used here, and the language. */
export interface ITranslate {
  __(msgid: string, ...args: unknown[]): string;
  _n(msgid: string, msgidPlural: string, n: number, ...args: unknown[]): string;
  /** A BCP 47 tag ("fr-FR"): figures through `Intl` in that language.
   * Absent: English written by hand (the fleet page). */
  readonly locale?: string;
}

function substitute(text: string, args: unknown[]): string {
  return text.replace(/%(\d+)/g, (match, i) =>
    Number(i) <= args.length ? String(args[Number(i) - 1]) : match
  );
}

/** English as written, with %1, %2… filled in (as JupyterLab's gettext does:
 * for `_n`, %1 is the count). */
export const plain: ITranslate = {
  __: (msgid, ...args) => substitute(msgid, args),
  _n: (msgid, msgidPlural, n, ...args) => substitute(n === 1 ? msgid : msgidPlural, [n, ...args])
};

/**
 * Marks a message for the catalogs where the call that translates it is
 * given a variable (`t.__(s.status)`): labextension/i18n/extract.py reads
 * string literals only. gettext's "N_".
 */
export function N_(msgid: string): string {
  return msgid;
}

/** Words that arrive as data and are shown translated: kernel statuses,
 * session modes, outcomes of an execution. */
export const DATA_WORDS = [
  N_('uninitialized'),
  N_('starting'),
  N_('ready'),
  N_('idle'),
  N_('busy'),
  N_('offline'),
  N_('exited'),
  N_('console'),
  N_('notebook'),
  N_('background'),
  N_('ok'),
  N_('aborted')
] as const;

/** The tag `Intl` takes for JupyterLab's language code ("fr_FR" in
 * JupyterLab 4.0, "fr-FR" later; "en" when it is none `Intl` knows). */
export function intlLocale(code: string | null | undefined): string {
  try {
    return Intl.getCanonicalLocales((code || 'en').replace(/_/g, '-'))[0] ?? 'en';
  } catch {
    return 'en';
  }
}

// Intl's formatters are costly to make, and many are asked for each second
// (a timer on every row): one of each kind per language, kept.
const formatters = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = locale + JSON.stringify(options);
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    formatters.set(key, format);
  }
  return format;
}

/** "0s", "59s", "1m 05s", "1h 02m", "2d 03h" ("1min 05s", "1分钟05秒" in
 * the language of `t`): the two largest units, the second padded. */
export function formatDuration(totalSeconds: number, t: ITranslate = plain): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const minutes = Math.floor(s / 60);
  const hours = Math.floor(minutes / 60);
  const parts: [number, string][] =
    s < 60
      ? [[s, 'second']]
      : minutes < 60
        ? [
            [minutes, 'minute'],
            [s % 60, 'second']
          ]
        : hours < 24
          ? [
              [hours, 'hour'],
              [minutes % 60, 'minute']
            ]
          : [
              [Math.floor(hours / 24), 'day'],
              [hours % 24, 'hour']
            ];
  const locale = t.locale;
  if (!locale) {
    const letter: Record<string, string> = { second: 's', minute: 'm', hour: 'h', day: 'd' };
    return parts
      .map(([n, unit], i) => (i ? String(n).padStart(2, '0') : String(n)) + letter[unit])
      .join(' ');
  }
  const texts = parts.map(([n, unit], i) =>
    numberFormat(locale, {
      style: 'unit',
      unit,
      unitDisplay: 'narrow',
      minimumIntegerDigits: i ? 2 : 1
    }).format(n)
  );
  return texts.length === 1
    ? texts[0]
    : new Intl.ListFormat(locale, { type: 'unit', style: 'narrow' }).format(texts);
}

/** "just now", "5 min ago", "3 h ago", "2 days ago" from an ISO time
 * ("il y a 5 minutes", "5分钟前" in the language of `t`). */
export function formatRelative(
  iso: string,
  now: number = Date.now(),
  t: ITranslate = plain
): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return '';
  }
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  const minutes = Math.round(seconds / 60);
  const hours = Math.round(minutes / 60);
  const days = Math.round(hours / 24);
  if (t.locale) {
    const rtf = new Intl.RelativeTimeFormat(t.locale, { numeric: 'auto' });
    return seconds < 45
      ? rtf.format(0, 'second')
      : minutes < 60
        ? rtf.format(-minutes, 'minute')
        : hours < 24
          ? rtf.format(-hours, 'hour')
          : rtf.format(-days, 'day');
  }
  if (seconds < 45) {
    return 'just now';
  }
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  if (hours < 24) {
    return `${hours} h ago`;
  }
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

/** A moment, date and time, as the language of `t` writes it (as the
 * browser's own language does without one). */
export function formatDateTime(iso: string, t: ITranslate = plain): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return '';
  }
  return t.locale
    ? new Intl.DateTimeFormat(t.locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(date)
    : date.toLocaleString();
}

const BYTE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
const BYTE_SYMBOLS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** The unit a size is shown in (decimal units, as system monitors show),
 * the size in it and its decimals. */
function byteScale(bytes: number): { value: number; unit: number; digits: number } {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return { value, unit, digits: value >= 100 || unit === 0 ? 0 : 1 };
}

/** A number with `digits` decimals, in the language of `t`. */
function decimal(value: number, digits: number, t: ITranslate): string {
  return t.locale
    ? numberFormat(t.locale, {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits
      }).format(value)
    : value.toFixed(digits);
}

/** `value` in the byte unit of index `unit`: "1.5 GB", "1,5 Go". */
function inUnit(value: number, unit: number, digits: number, t: ITranslate): string {
  if (!t.locale) {
    return `${value.toFixed(digits)} ${BYTE_SYMBOLS[unit]}`;
  }
  const parts = numberFormat(t.locale, {
    style: 'unit',
    unit: BYTE_UNITS[unit],
    unitDisplay: 'short',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits
  }).formatToParts(value);
  // English spells out the byte ("512 byte") where every larger unit is a
  // symbol: B, as beside kB and MB.
  return parts.map(p => (p.type === 'unit' && p.value === 'byte' ? 'B' : p.value)).join('');
}

/** "1.5 GB", "230 MB", "12 kB" ("1,5 Go" in French). */
export function formatBytes(bytes: number, t: ITranslate = plain): string {
  const { value, unit, digits } = byteScale(bytes);
  return inUnit(value, unit, digits, t);
}

/** "1.9 of 2.1 GB": two figures in the unit of the second. */
export function formatUsedOf(used: number, limit: number, t: ITranslate = plain): string {
  const { value, unit, digits } = byteScale(limit);
  const scale = limit / value;
  const usedValue = used / (Number.isFinite(scale) && scale > 0 ? scale : 1);
  return t.__(
    '%1 of %2',
    decimal(usedValue, usedValue >= 100 ? 0 : 1, t),
    inUnit(value, unit, digits, t)
  );
}

/** "12%" ("12 %" in French): a percentage, whole. */
export function formatPercent(percent: number, t: ITranslate = plain): string {
  return t.locale
    ? numberFormat(t.locale, { style: 'percent', maximumFractionDigits: 0 }).format(percent / 100)
    : `${Math.round(percent)}%`;
}

/** "+1.2 GB", "−300 MB", "±0 B": what a cell did to the kernel's memory. */
export function formatDelta(bytes: number, t: ITranslate = plain): string {
  if (Math.abs(bytes) < 1000) {
    return '±' + formatBytes(0, t);
  }
  return (bytes > 0 ? '+' : '−') + formatBytes(Math.abs(bytes), t);
}

/** What an execution cost: the change of memory over it, and its peak when
 * that rose well above both ends; null when it was not measured. */
export function memoryCost(
  e: {
    memory_start_bytes: number | null;
    memory_end_bytes: number | null;
    memory_peak_bytes: number | null;
  },
  t: ITranslate = plain
): { text: string; title: string } | null {
  const { memory_start_bytes: start, memory_end_bytes: end, memory_peak_bytes: peak } = e;
  if (start === null || end === null) {
    return null;
  }
  const delta = end - start;
  const rose = peak !== null ? peak - start : delta;
  const text =
    rose > Math.max(delta, 0) + 50e6
      ? t.__('%1 (peak +%2)', formatDelta(delta, t), formatBytes(rose, t))
      : formatDelta(delta, t);
  const title =
    peak !== null
      ? t.__(
          'Memory: %1 at the start, %2 at the end, %3 at the highest',
          formatBytes(start, t),
          formatBytes(end, t),
          formatBytes(peak, t)
        )
      : t.__('Memory: %1 at the start, %2 at the end', formatBytes(start, t), formatBytes(end, t));
  return { text, title };
}

/** The first line of code that is not blank, cut to `width` with "…". */
export function firstLine(code: string | null | undefined, width = 80): string {
  const line =
    String(code ?? '')
      .split('\n')
      .find(l => l.trim()) ?? '';
  return line.length > width ? line.slice(0, width - 1) + '…' : line;
}

/** The line that says what a cell does: its first line that is not blank,
 * a comment or an import (`import time` says nothing of a training loop),
 * else its first line that is not blank; "…" after it when there is more. */
export function telltaleLine(code: string | null | undefined, width = 200): string {
  const lines = String(code ?? '')
    .split('\n')
    .filter(l => l.trim());
  const plain = /^\s*(#|\/\/|import\s|from\s+\S+\s+import\s)/;
  const line = lines.find(l => !plain.test(l)) ?? lines[0] ?? '';
  const more = lines.length > 1 ? ' …' : '';
  const text = line.trim();
  return text.length > width ? text.slice(0, width - 1) + '…' : text + more;
}

/** What shows in place of code the server keeps from this user, and why. */
export const HIDDEN_CODE = N_('code hidden');
export const HIDDEN_WHY = N_('Hidden: you may see these kernels, not run code on them.');

/** The first `lines` lines of code, marking a cut with "…" (null: hidden). */
export function codePreview(
  code: string | null,
  lines: number,
  truncated = false,
  t: ITranslate = plain
): string {
  if (code === null) {
    return t.__(HIDDEN_CODE);
  }
  const all = code.replace(/\s+$/, '').split('\n');
  const shown = all.slice(0, Math.max(1, lines));
  const cut = truncated || all.length > shown.length;
  return shown.join('\n') + (cut ? ' …' : '');
}

/**
 * The status bar's figures beside its status dot: "running 12s · 3 queued",
 * "4m 10s" (idle or ready: JupyterLab's own kernel status beside it says so),
 * "waiting for input". Never the words "Idle" or "Busy": Galata, which every
 * extension's UI tests use, finds the kernel's state by those words in the
 * status bar, and a second match breaks its `runCell` and `run`.
 */
export function statusBarText(
  status: string,
  busySeconds: number,
  idleSeconds: number,
  queued: number,
  awaitingInput: boolean,
  t: ITranslate = plain
): string {
  if (awaitingInput) {
    return t.__('waiting for input');
  }
  const queue = queued > 0 ? ' · ' + t._n('%1 queued', '%1 queued', queued) : '';
  if (status === 'busy') {
    return t.__('running %1', formatDuration(busySeconds, t)) + queue;
  }
  if (status === 'idle' || status === 'ready') {
    return `${formatDuration(idleSeconds, t)}${queue}`;
  }
  return t.__(status) + queue;
}

/** What the status bar item says to a screen reader: "Kernel idle for 4m 10s". */
export function statusBarLabel(
  status: string,
  busySeconds: number,
  idleSeconds: number,
  queued: number,
  awaitingInput: boolean,
  t: ITranslate = plain
): string {
  const queue = queued > 0 ? ', ' + t._n('%1 queued', '%1 queued', queued) : '';
  if (awaitingInput) {
    return t.__('Kernel waiting for input') + queue;
  }
  if (status === 'busy') {
    return t.__('Kernel busy for %1', formatDuration(busySeconds, t)) + queue;
  }
  if (status === 'idle') {
    return t.__('Kernel idle for %1', formatDuration(idleSeconds, t)) + queue;
  }
  if (status === 'ready') {
    return t.__('Kernel ready for %1', formatDuration(idleSeconds, t)) + queue;
  }
  return t.__('Kernel %1', t.__(status)) + queue;
}

/** How a kernel that ended went (an ended record, or one the fleet page shaped). */
export interface IEndedLike {
  reason: string;
  forced?: boolean;
  by?: string | null;
  signal: number | null;
  exit_code: number | null;
  idle_seconds?: number | null;
  memory_bytes?: number | null;
  limit_bytes?: number | null;
}

/** "culled after 1h 00m idle", "killed by signal 9", "shut down by alice". */
export function endedReason(e: IEndedLike, t: ITranslate = plain): string {
  switch (e.reason) {
    case 'culled':
      return e.idle_seconds !== null && e.idle_seconds !== undefined
        ? t.__('culled after %1 idle', formatDuration(e.idle_seconds, t))
        : t.__('culled');
    case 'killed':
    case 'exited':
    case 'oom':
    case 'failed_to_start':
      return exitReason(e, t);
    case 'server_stopped':
      return t.__('server stopped');
    case 'server_lost':
      return t.__('server lost');
    case 'shutdown':
      if (e.by) {
        return e.forced ? t.__('killed by %1', e.by) : t.__('shut down by %1', e.by);
      }
      return e.forced ? t.__('killed') : t.__('shut down');
    default:
      return t.__('ended');
  }
}

/** How a kernel's process ended: "killed by signal 9", "exited with code 1",
 * "restarted" (a kernel's last_exit, or an ended kernel's process). */
export function exitReason(
  e: {
    reason: string;
    signal: number | null;
    exit_code: number | null;
    memory_bytes?: number | null;
    limit_bytes?: number | null;
  },
  t: ITranslate = plain
): string {
  if (e.reason === 'oom') {
    const { memory_bytes: used, limit_bytes: limit } = e;
    if (used !== null && used !== undefined && limit) {
      // A kernel that filled memory between two samples was last seen small:
      // say so rather than "0.1 of 2 GB".
      return used >= 0.5 * limit
        ? t.__('killed: out of memory (%1)', formatUsedOf(used, limit, t))
        : t.__(
            'killed: out of memory (limit %1; last seen at %2)',
            formatBytes(limit, t),
            formatBytes(used, t)
          );
    }
    return t.__('killed: out of memory');
  }
  if (e.reason === 'killed') {
    return e.signal !== null ? t.__('killed by signal %1', e.signal) : t.__('killed');
  }
  if (e.reason === 'exited') {
    return e.exit_code !== null ? t.__('exited with code %1', e.exit_code) : t.__('exited');
  }
  if (e.reason === 'failed_to_start') {
    return e.exit_code !== null
      ? t.__('failed to start: exited with code %1', e.exit_code)
      : e.signal !== null
        ? t.__('failed to start: killed by signal %1', e.signal)
        : t.__('failed to start');
  }
  return e.reason === 'restarted' ? t.__('restarted') : t.__('ended');
}

/** Where a process faulted (the server's `last_words.fault`). */
export interface IFaultLike {
  message: string;
  cell_id: string | null;
  execution_count: number | null;
  line: number | null;
  code_line: string | null;
  inner: Omit<IFaultLike, 'message' | 'inner'> | null;
}

/** What Python's fault handler says of each fault signal, in the catalogs:
 * the words of another message are shown as the server sent them. */
export const FAULT_MESSAGES: readonly string[] = [
  N_('Segmentation fault'),
  N_('Aborted'),
  N_('Floating-point exception'),
  N_('Floating point exception'),
  N_('Bus error'),
  N_('Illegal instruction')
];

/** "cell [5] (c-1), line 3: `f(x)`": a cell of a fault; `full`, with its
 * id and its line of code (when the server sent it). */
function faultCell(c: Omit<IFaultLike, 'message' | 'inner'>, t: ITranslate, full: boolean): string {
  const n = c.execution_count;
  const id = full ? c.cell_id : null;
  const cell =
    n !== null && id !== null
      ? t.__('cell [%1] (%2)', n, id)
      : n !== null
        ? t.__('cell [%1]', n)
        : id !== null
          ? t.__('cell (%1)', id)
          : t.__('a cell');
  if (c.line === null) {
    return cell;
  }
  return full && c.code_line
    ? t.__('%1, line %2: `%3`', cell, c.line, c.code_line)
    : t.__('%1, line %2', cell, c.line);
}

/**
 * The fault in one line: "Segmentation fault in cell [5] (c-1), line 3:
 * `lib.run(x)`", "…, inside cell [2] (c-2), line 7: `…`" when it died in a
 * function defined in another cell, "Aborted while running cell [4]" when
 * no frame named a cell. (In English, the server's own `summary`; here in
 * the user's language.) Short, for a notification: without ids and code.
 */
export function faultLine(
  fault: IFaultLike,
  t: ITranslate = plain,
  options: { short?: boolean } = {}
): string {
  const full = !options.short;
  const message = FAULT_MESSAGES.includes(fault.message) ? t.__(fault.message) : fault.message;
  if (fault.cell_id === null && fault.execution_count === null) {
    return message;
  }
  const cell = faultCell(fault, t, full);
  if (fault.line === null) {
    return t.__('%1 while running %2', message, cell);
  }
  const inner = fault.inner ? t.__('%1, inside %2', cell, faultCell(fault.inner, t, full)) : cell;
  return t.__('%1 in %2', message, inner);
}

/** The last line of `text` that is not blank, cut to `width` with "…". */
export function lastLine(text: string | null | undefined, width = 200): string {
  const lines = String(text ?? '')
    .split('\n')
    .filter(l => l.trim());
  const line = (lines[lines.length - 1] ?? '').trim();
  return line.length > width ? line.slice(0, width - 1) + '…' : line;
}

/** Why there are no last words to show, said plainly (the server's
 * `why_null`); null when there is nothing to explain. */
export function whyNoWords(why: string | null, t: ITranslate = plain): string | null {
  switch (why) {
    case 'hidden':
      return t.__(
        'What its process wrote is hidden: you may see these kernels, not run code on them.'
      );
    case 'remote':
      return t.__(
        'What its process wrote is not known: the kernel ran on a gateway, with no process on this server to listen to.'
      );
    case 'not_captured':
      return t.__(
        "What its process wrote was not kept: the server's capture is off, or the process was started without it."
      );
    default:
      return null;
  }
}

/** How a kernel that died or never started is announced: "crash.ipynb: the
 * kernel died (Segmentation fault in cell [2], line 3). It was restarted."
 * `where` names the kernel (its notebook); kept short, a notification's
 * text is cut at 140 characters. */
export function endNotice(
  e: IEndedLike & {
    restarted?: boolean;
    last_words?: { text: string | null; fault: IFaultLike | null } | null;
  },
  where: string,
  t: ITranslate = plain
): string {
  const fault = e.last_words?.fault;
  const how =
    e.reason === 'oom'
      ? exitReason(e, t)
      : e.signal !== null
        ? t.__('killed by signal %1', e.signal)
        : e.exit_code !== null
          ? t.__('exited with code %1', e.exit_code)
          : null;
  const what = fault ? faultLine(fault, t, { short: true }) : how;
  let notice: string;
  if (e.reason === 'failed_to_start') {
    notice = what
      ? t.__('%1: the kernel failed to start (%2)', where, what)
      : t.__('%1: the kernel failed to start', where);
    const said = lastLine(e.last_words?.text, 80);
    notice = said ? t.__('%1: %2', notice, said) : notice;
  } else {
    notice = what
      ? t.__('%1: the kernel died (%2)', where, what)
      : t.__('%1: the kernel died', where);
  }
  return e.restarted ? t.__('%1. It was restarted.', notice) : notice;
}
