/**
 * What other extensions may use: the server's active sessions as the panel
 * sees them, kept fresh (one model for the whole page, so a consumer adds
 * no requests of its own). Require `IActiveSessions` in a plugin, and list
 * `jupyter-session-ext` in its `jupyterlab.sharedPackages` as
 * `{ "bundled": false, "singleton": true }` so the token is ours.
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import {
  IActiveSession,
  IEndedSession,
  IExecutionFinished,
  IMemoryStatus,
  IMemoryWarning
} from './types';

export interface IActiveSessions {
  /** Sessions as last fetched (one per kernel), oldest kernel first. */
  readonly sessions: readonly IActiveSession[];
  /** Kernels that are gone, newest first. */
  readonly ended: readonly IEndedSession[];
  /** The server's memory against its limit, when the server says it. */
  readonly memory: IMemoryStatus | null;
  /** The session of kernel `id`, if listed. */
  session(id: string): IActiveSession | undefined;
  /** When the session of `id` was fetched (ms since the epoch): its
   * `busy_seconds` and `idle_seconds` were true then. */
  fetchedAtOf(id: string): number;
  /** Any session, the list or the memory figures changed. */
  readonly changed: ISignal<IActiveSessions, void>;
  /** An execution finished (from the server's events). */
  readonly finished: ISignal<IActiveSessions, IExecutionFinished>;
  /** The server warned that memory is near its limit. */
  readonly memoryWarning: ISignal<IActiveSessions, IMemoryWarning>;
  /** Fetch everything again now. */
  refresh(): Promise<void>;
}

export const IActiveSessions = new Token<IActiveSessions>(
  'jupyter-session-ext:IActiveSessions',
  "The server's active sessions (one per running kernel), kept fresh."
);
