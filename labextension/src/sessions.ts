/**
 * Pure logic over session lists: filtering, sorting, the header's counts and
 * totals, which kernels count as idle for a bulk shutdown, cull countdowns.
 * No DOM, no JupyterLab: unit-tested on its own (labextension/test/).
 */
import type { ITranslate } from './format';
import { IActiveSession, IQueueEntry } from './types';

// format.ts's N_ (a message marked for the catalogs), here too: this module
// imports nothing at run time (node's test runner loads it as it is).
const N_ = (msgid: string): string => msgid;

/**
 * Seconds a session has been busy or idle *now*, from what the server said
 * at `fetchedAt` (ms): timers keep ticking between server updates.
 */
export function liveSeconds(
  serverSeconds: number,
  fetchedAt: number,
  now: number = Date.now()
): number {
  return serverSeconds + Math.max(0, Math.floor((now - fetchedAt) / 1000));
}

export const SORT_KEYS = ['status', 'memory', 'cpu', 'idle', 'started', 'name'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const SORT_LABELS: Record<SortKey, string> = {
  status: N_('Status'),
  memory: N_('Memory'),
  cpu: N_('CPU'),
  idle: N_('Idle time'),
  started: N_('Started (newest)'),
  name: N_('Name')
};

/** What the panel calls a kernel, running or ended: its notebook's file
 * name, or for a kernel without one the start of its id and its display name
 * (the id first: in a narrow sidebar it is what tells such kernels apart). */
export function rowTitle(
  s: Pick<IActiveSession, 'session_id' | 'display_name' | 'notebook_path'> & {
    jupyter_sessions?: IActiveSession['jupyter_sessions'];
  }
): string {
  const path = s.notebook_path ?? s.jupyter_sessions?.[0]?.path ?? null;
  if (path) {
    return path.split('/').pop() || path;
  }
  return `${s.session_id.slice(0, 8)} · ${s.display_name}`;
}

/** Case-insensitive match of every word of `query` against what a user
 * knows a kernel by: notebook, names, user, id, and the code it runs. */
export function matches(s: IActiveSession, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    return true;
  }
  const queue = s.execution_queue;
  const haystack = [
    s.notebook_path ?? '',
    ...s.jupyter_sessions.map(j => j.path),
    s.display_name,
    s.kernel_name,
    s.username,
    s.session_id,
    queue.active?.code ?? '',
    ...queue.pending.map(e => e.code ?? '')
  ]
    .join('\n')
    .toLowerCase();
  return words.every(w => haystack.includes(w));
}

// Busy kernels first: they are what people look for.
const STATUS_ORDER = ['busy', 'starting', 'uninitialized', 'offline', 'ready', 'idle', 'exited'];

function idleNow(s: IActiveSession, fetchedAt: number, now: number): number {
  return s.status === 'idle' || s.status === 'ready'
    ? liveSeconds(s.idle_seconds, fetchedAt, now)
    : 0;
}

/** A sorted copy; ties keep the server's order (oldest kernel first). */
export function sortSessions(
  list: readonly IActiveSession[],
  key: SortKey,
  fetchedAt: (id: string) => number = () => Date.now(),
  now: number = Date.now()
): IActiveSession[] {
  const value = (s: IActiveSession): number | string => {
    switch (key) {
      case 'status': {
        const rank = STATUS_ORDER.indexOf(s.awaiting_input ? 'busy' : s.status);
        return rank < 0 ? STATUS_ORDER.length : rank;
      }
      case 'memory':
        return -(s.resource_usage?.memory_bytes ?? -1);
      case 'cpu':
        return -(s.resource_usage?.cpu_percent ?? -1);
      case 'idle':
        return -idleNow(s, fetchedAt(s.session_id), now);
      case 'started':
        return -Date.parse(s.started);
      case 'name':
        return rowTitle(s).toLowerCase();
    }
  };
  return list
    .map((s, index) => ({ s, index, v: value(s) }))
    .sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : a.index - b.index))
    .map(x => x.s);
}

/** "3 busy · 12 idle · 1 starting" (ready counts as idle; zeros left out). */
export function statusCounts(list: readonly IActiveSession[], t?: ITranslate): string {
  const counts = new Map<string, number>();
  for (const s of list) {
    const label =
      s.status === 'ready' ? 'idle' : s.status === 'uninitialized' ? 'starting' : s.status;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return STATUS_ORDER.filter(label => counts.has(label))
    .map(label => (t ? countWords(label, counts.get(label)!, t) : `${counts.get(label)} ${label}`))
    .join(' · ');
}

/** "3 busy": a count of kernels in a status, in words that agree with it. */
function countWords(label: string, n: number, t: ITranslate): string {
  switch (label) {
    case 'busy':
      return t._n('%1 busy', '%1 busy', n);
    case 'starting':
      return t._n('%1 starting', '%1 starting', n);
    case 'offline':
      return t._n('%1 offline', '%1 offline', n);
    case 'idle':
      return t._n('%1 idle', '%1 idle', n);
    case 'exited':
      return t._n('%1 exited', '%1 exited', n);
    default:
      return `${n} ${label}`; // statusCounts maps the others to these
  }
}

/** Memory (bytes) and CPU (percent of one core) of every kernel together. */
export function totals(list: readonly IActiveSession[]): { memory: number; cpu: number } {
  let memory = 0;
  let cpu = 0;
  for (const s of list) {
    memory += s.resource_usage?.memory_bytes ?? 0;
    cpu += s.resource_usage?.cpu_percent ?? 0;
  }
  return { memory, cpu };
}

/** Kernels idle (not busy, not waiting for input) for more than `seconds`. */
export function idleLongerThan(
  list: readonly IActiveSession[],
  seconds: number,
  fetchedAt: (id: string) => number,
  now: number = Date.now()
): IActiveSession[] {
  return list.filter(
    s =>
      (s.status === 'idle' || s.status === 'ready') &&
      !s.awaiting_input &&
      s.execution_queue.active === null &&
      idleNow(s, fetchedAt(s.session_id), now) > seconds
  );
}

/** Seconds until culling may take the kernel, counted down in the browser;
 * null when nothing will, when its state spares it, or when it is further
 * away than `warnSeconds`. */
export function cullCountdown(
  s: IActiveSession,
  fetchedAt: number,
  warnSeconds: number,
  now: number = Date.now()
): number | null {
  const culling = s.culling;
  if (!culling || !culling.eligible || culling.seconds_left === null) {
    return null;
  }
  const left = Math.max(0, culling.seconds_left - Math.floor((now - fetchedAt) / 1000));
  return left <= warnSeconds ? left : null;
}

/** How far a running cell is against its last run: 0..1, or null when the
 * cell has no earlier run (or has not started). */
export function progress(entry: IQueueEntry, now: number = Date.now()): number | null {
  if (!entry.expected_seconds || !entry.started) {
    return null;
  }
  const ran = (now - Date.parse(entry.started)) / 1000;
  return Math.max(0, Math.min(1, ran / entry.expected_seconds));
}
