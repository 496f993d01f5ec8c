/**
 * The panel's model: the server's active sessions and recently ended
 * kernels, kept fresh from the server's event stream (and polled, through
 * poll.ts, for what changes without events while the panel shows), and the
 * actions on a session. All HTTP goes through handler.ts.
 *
 * An event about one kernel refetches that kernel alone and replaces only its
 * object, so the rows of the others (memoized on their session object) do not
 * re-render.
 */
import { Event, Session } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from './handler';
import { pollFrequency, sessionsPoll } from './poll';
import { IActiveSessions } from './tokens';
import {
  EVENT_SCHEMA_ID,
  IActiveSession,
  IEndedList,
  IEndedSession,
  IExecutionFinished,
  IHistory,
  IMemoryStatus,
  IMemoryWarning,
  IServerStatus,
  ISessionList,
  ISessionPatch,
  ITimeline
} from './types';

/** Points of each row's sparkline (the last hour). */
const SPARKLINE_POINTS = 40;

/** Wait this long after an event before refetching, so bursts cost one request. */
const EVENT_DEBOUNCE_MS = 250;

// Events that change which kernels exist (or what the ended list holds).
const LIST_ACTIONS = new Set(['added', 'removed', 'ended']);

export class ActiveSessionsModel implements IActiveSessions, IDisposable {
  constructor(options: ActiveSessionsModel.IOptions) {
    this._events = options.events ?? null;
    this._refreshInterval = options.refreshInterval;
    this._poll = sessionsPoll(() => this._pollOnce(), options.refreshInterval);
    this._events?.stream.connect(this._onEvent, this);
    // Our events say nothing of notebooks being opened, renamed or closed:
    // JupyterLab's own session list does.
    options.sessions?.runningChanged.connect(this._scheduleRefresh, this);
    this._sessionManager = options.sessions ?? null;
  }

  /** Sessions as last fetched, oldest kernel first. */
  get sessions(): readonly IActiveSession[] {
    return this._sessions;
  }

  /** Kernels that are gone, newest first. */
  get ended(): readonly IEndedSession[] {
    return this._ended;
  }

  /** Whether the ended kernels are all the server knows: false until the
   * first answer, and while the server has not read its store after a start. */
  get endedComplete(): boolean {
    return this._endedComplete;
  }

  /** The memory limit and what is used of it; null until the server says. */
  get memory(): IMemoryStatus | null {
    return this._memory;
  }

  /** A kernel's memory over the last hour, in a few points (its sparkline). */
  sparkline(id: string): ITimeline | null {
    return this._sparklines[id] ?? null;
  }

  /** A kernel's whole timeline (the chart of an expanded row). */
  async resources(id: string): Promise<ITimeline> {
    return requestAPI<ITimeline>(`${encodeURIComponent(id)}/resources`);
  }

  /** Memory use crossed the warning fraction of the limit. */
  get memoryWarning(): ISignal<this, IMemoryWarning> {
    return this._memoryWarning;
  }

  /** When this session was last fetched: its timers count from there. */
  fetchedAtOf(id: string): number {
    return this._fetchedAtOf.get(id) ?? this._fetchedAt;
  }

  /** The last error talking to the server, or null. */
  get error(): string | null {
    return this._error;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A long execution finished (the server's `execution_finished` event). */
  get finished(): ISignal<this, IExecutionFinished> {
    return this._finished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get refreshInterval(): number {
    return this._refreshInterval;
  }

  set refreshInterval(seconds: number) {
    this._refreshInterval = seconds;
    this._poll.frequency = pollFrequency(seconds);
  }

  session(id: string): IActiveSession | undefined {
    return this._sessions.find(s => s.session_id === id);
  }

  /**
   * Whether anyone is looking: the list is fetched now and every
   * refreshInterval while something shows it (memory and CPU change without
   * events; without the event stream, everything does), and not polled
   * otherwise, nor while JupyterLab's tab is hidden.
   */
  setVisible(visible: boolean): void {
    void (visible ? this._poll.refresh() : this._poll.stop());
  }

  /** Fetch the list and the ended kernels now; concurrent calls share one request. */
  async refresh(): Promise<void> {
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    this._inFlight = this._fetch();
    try {
      await this._inFlight;
    } finally {
      this._inFlight = null;
    }
    if (this._again) {
      this._again = false;
      await this.refresh();
    }
  }

  async interrupt(id: string): Promise<void> {
    await this._act(id, 'interrupt', { method: 'POST' });
  }

  async restart(id: string): Promise<void> {
    await this._act(id, 'restart', { method: 'POST' });
  }

  async shutdown(id: string): Promise<void> {
    await requestAPI<void>(encodeURIComponent(id), { method: 'DELETE' });
    this._drop(id);
  }

  /** End the kernel at once, its child processes too (no shutdown request). */
  async kill(id: string): Promise<void> {
    await requestAPI<void>(`${encodeURIComponent(id)}/kill`, { method: 'POST' });
    this._drop(id);
  }

  /** Shut down several kernels; resolves to the ids that could not be. */
  async shutdownMany(ids: readonly string[]): Promise<string[]> {
    const failed = await Promise.all(
      ids.map(id =>
        this.shutdown(id).then(
          () => null,
          () => id
        )
      )
    );
    return failed.filter((id): id is string => id !== null);
  }

  async update(id: string, patch: ISessionPatch): Promise<void> {
    await this._act(id, '', { method: 'PATCH', body: JSON.stringify(patch) });
  }

  async history(id: string, limit?: number): Promise<IHistory> {
    const query = limit ? `?limit=${limit}` : '';
    return requestAPI<IHistory>(`${encodeURIComponent(id)}/history${query}`);
  }

  /** Interrupt every busy session; resolves to how many were interrupted. */
  async interruptAllBusy(): Promise<number> {
    await this.refresh();
    const busy = this._sessions.filter(s => s.status === 'busy');
    await Promise.all(busy.map(s => this.interrupt(s.session_id)));
    return busy.length;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    this._sessionManager?.runningChanged.disconnect(this._scheduleRefresh, this);
    this._poll.dispose();
    window.clearTimeout(this._debounceTimer);
    for (const timer of this._sessionTimers.values()) {
      window.clearTimeout(timer);
    }
    Signal.clearData(this);
  }

  private _drop(id: string): void {
    this._sessions = this._sessions.filter(s => s.session_id !== id);
    this._changed.emit();
    void this.refresh();
  }

  private _replace(updated: IActiveSession): void {
    let found = false;
    this._sessions = this._sessions.map(s => {
      if (s.session_id !== updated.session_id) {
        return s;
      }
      found = true;
      return updated;
    });
    if (!found) {
      this._sessions = [...this._sessions, updated];
    }
    this._fetchedAtOf.set(updated.session_id, Date.now());
    this._changed.emit();
  }

  private async _act(id: string, action: string, init: RequestInit): Promise<void> {
    const path = encodeURIComponent(id) + (action ? `/${action}` : '');
    this._replace(await requestAPI<IActiveSession>(path, init));
  }

  private async _fetch(): Promise<void> {
    try {
      // The figures beside the list are not worth failing it for.
      const [list, ended, status, timelines] = await Promise.all([
        requestAPI<ISessionList>(''),
        requestAPI<IEndedList>('ended'),
        requestAPI<IServerStatus>('status').catch(() => null),
        requestAPI<{ sessions: Record<string, ITimeline> }>(
          `resources?points=${SPARKLINE_POINTS}`
        ).catch(() => null)
      ]);
      this._sessions = list.sessions;
      this._ended = ended.sessions;
      this._endedComplete = ended.complete !== false;
      this._memory = status?.memory ?? null;
      this._sparklines = timelines?.sessions ?? {};
      this._fetchedAt = Date.now();
      this._fetchedAtOf.clear();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message || String(error);
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  /** Refetch one session (an event said it changed). */
  private async _fetchOne(id: string): Promise<void> {
    this._sessionTimers.delete(id);
    if (!this.session(id)) {
      return this.refresh(); // new to us: the list knows where it goes
    }
    try {
      this._replace(await requestAPI<IActiveSession>(encodeURIComponent(id)));
    } catch {
      // Gone meanwhile (a 404): the list and the ended kernels tell.
      this._scheduleRefresh();
    }
  }

  private _onEvent(_: Event.IManager, event: Event.Emission): void {
    if (event.schema_id !== EVENT_SCHEMA_ID) {
      return;
    }
    const action = String(event.action ?? '');
    const id = typeof event.session_id === 'string' ? event.session_id : null;
    if (action === 'memory_warning') {
      this._memoryWarning.emit(event as unknown as IMemoryWarning);
      this._scheduleRefresh();
      return;
    }
    if (action === 'execution_finished') {
      this._finished.emit(event as unknown as IExecutionFinished);
      return; // the session's own events follow
    }
    if (id === null || LIST_ACTIONS.has(action)) {
      this._scheduleRefresh();
      return;
    }
    window.clearTimeout(this._sessionTimers.get(id));
    this._sessionTimers.set(
      id,
      window.setTimeout(() => void this._fetchOne(id), EVENT_DEBOUNCE_MS)
    );
  }

  private _scheduleRefresh(): void {
    window.clearTimeout(this._debounceTimer);
    this._debounceTimer = window.setTimeout(() => void this.refresh(), EVENT_DEBOUNCE_MS);
  }

  /** One poll: a failed fetch rejects, so that the poll waits longer. */
  private async _pollOnce(): Promise<void> {
    await this.refresh();
    if (this._error !== null) {
      throw new Error(this._error);
    }
  }

  private _events: Event.IManager | null;
  private _sessionManager: Session.IManager | null;
  private _refreshInterval: number;
  private _sessions: IActiveSession[] = [];
  private _ended: IEndedSession[] = [];
  private _endedComplete = false;
  private _memory: IMemoryStatus | null = null;
  private _sparklines: Record<string, ITimeline> = {};
  private _fetchedAt = Date.now();
  private _fetchedAtOf = new Map<string, number>();
  private _error: string | null = null;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _poll: Poll;
  private _debounceTimer = 0;
  private _sessionTimers = new Map<string, number>();
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _finished = new Signal<this, IExecutionFinished>(this);
  private _memoryWarning = new Signal<this, IMemoryWarning>(this);
}

export namespace ActiveSessionsModel {
  export interface IOptions {
    /** The server's event stream; without it the model polls while visible. */
    events?: Event.IManager | null;
    /** JupyterLab's session manager: notebooks opened, renamed, closed. */
    sessions?: Session.IManager | null;
    /** Seconds between polls when polling. */
    refreshInterval: number;
  }
}
