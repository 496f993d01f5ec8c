/**
 * Kernels' ends as the panel lists them under "Recently ended", and which of
 * them are announced. An end is an ended kernel's record, or the last death
 * of a kernel that runs on: a crash is most often restarted by
 * jupyter_client's restarter, and then the kernel's `last_exit` is all that
 * says it died. Pure, and importing nothing at run time: unit-tested on its
 * own (labextension/test/ends.test.mjs).
 */
import type { IActiveSession, IEndedSession, ILastWords } from './types';

/** One end of a kernel's process. */
export interface IKernelEnd {
  /** The same end has the same key in every answer of the server. */
  key: string;
  session_id: string;
  display_name: string;
  notebook_path: string | null;
  jupyter_sessions?: IActiveSession['jupyter_sessions'];
  /** An ended record's reason, or a last exit's. */
  reason: string;
  /** The kernel runs on in a new process (this is its `last_exit`). */
  restarted: boolean;
  ended: string;
  exit_code: number | null;
  signal: number | null;
  memory_bytes: number | null;
  limit_bytes: number | null;
  forced?: boolean;
  by?: string | null;
  idle_seconds?: number | null;
  last_words: ILastWords | null;
  /** Whether this user may run code on the kernel (readers may not: the
   * server hides its code and what it wrote from them). */
  mayRunCode: boolean;
}

export function endKey(sessionId: string, ended: string): string {
  return `${sessionId}@${ended}`;
}

/** The reasons a kernel's process died rather than was stopped. */
const DEATHS = new Set(['killed', 'oom', 'failed_to_start']);

/** Died (a crash, the out-of-memory killer, a signal nobody here sent, an
 * exit with an error) or never started: what a user is told of. An exit
 * with code 0 was the kernel's own choice. */
export function isDeath(e: { reason: string; exit_code: number | null }): boolean {
  return DEATHS.has(e.reason) || (e.reason === 'exited' && e.exit_code !== 0);
}

function fromRecord(e: IEndedSession): IKernelEnd {
  return {
    key: endKey(e.session_id, e.ended),
    session_id: e.session_id,
    display_name: e.display_name,
    notebook_path: e.notebook_path,
    reason: e.reason,
    restarted: false,
    ended: e.ended,
    exit_code: e.exit_code,
    signal: e.signal,
    memory_bytes: e.memory_bytes ?? null,
    limit_bytes: e.limit_bytes ?? null,
    forced: e.forced,
    by: e.by,
    idle_seconds: e.idle_seconds,
    last_words: e.last_words ?? null,
    mayRunCode: !(e.last_words?.why_null === 'hidden' || e.last_execution?.code === null)
  };
}

function fromLastExit(s: IActiveSession): IKernelEnd | null {
  const x = s.last_exit;
  if (!x || !isDeath(x)) {
    return null; // a restart someone asked for is no end worth listing
  }
  return {
    key: endKey(s.session_id, x.ended),
    session_id: s.session_id,
    display_name: s.display_name,
    notebook_path: s.notebook_path,
    jupyter_sessions: s.jupyter_sessions,
    reason: x.reason,
    restarted: true,
    ended: x.ended,
    exit_code: x.exit_code,
    signal: x.signal,
    memory_bytes: x.memory_bytes,
    limit_bytes: x.limit_bytes,
    last_words: x.last_words ?? null,
    mayRunCode: s.argv !== null
  };
}

/** Ended kernels and the last deaths of running ones, newest first. */
export function recentEnds(
  ended: readonly IEndedSession[],
  sessions: readonly IActiveSession[]
): IKernelEnd[] {
  const ends = [
    ...ended.map(fromRecord),
    ...sessions.map(fromLastExit).filter((e): e is IKernelEnd => e !== null)
  ];
  return ends.sort((a, b) => Date.parse(b.ended) - Date.parse(a.ended));
}

/** The notebook and cell an end points at: the cell that was running when
 * the process faulted; null when the server does not know one. */
export function endCell(e: IKernelEnd): { path: string; cellId: string } | null {
  const cellId = e.last_words?.fault?.cell_id;
  return e.notebook_path && cellId ? { path: e.notebook_path, cellId } : null;
}

// Keys remembered, at most (the server keeps far fewer ended kernels).
const SEEN_MAX = 5000;

/**
 * Which ends to announce: the deaths that were not in any list seen before,
 * of kernels this user may run code on. The first complete list is what
 * the page found as it loaded: old news, announced by none (a reload
 * announces nothing again). A list the server says is incomplete (its store
 * not read yet after a restart) neither announces nor sets anything: the
 * ends it lacks would look new in the next.
 */
export class EndsSeen {
  news(ends: readonly IKernelEnd[], complete: boolean): IKernelEnd[] {
    if (!complete) {
      return [];
    }
    if (this._seen === null) {
      this._seen = new Set(ends.map(e => e.key));
      return [];
    }
    const seen = this._seen;
    const fresh = ends.filter(e => !seen.has(e.key));
    for (const e of fresh) {
      seen.add(e.key);
    }
    // Forget the oldest keys (a Set keeps its insertion order).
    for (const key of seen) {
      if (seen.size <= SEEN_MAX) {
        break;
      }
      seen.delete(key);
    }
    return fresh.filter(e => isDeath(e) && e.mayRunCode);
  }

  private _seen: Set<string> | null = null;
}
