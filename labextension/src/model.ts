/**
 * The panel's model: the server's active sessions, kept fresh from the
 * server's event stream (polling only where events are unavailable), and the
 * actions on a session. All HTTP goes through handler.ts.
 */
import { Event, Session } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from './handler';
import {
  EVENT_SCHEMA_ID,
  IActiveSession,
  ISessionList,
  ISessionPatch
} from './types';

/** Wait this long after an event before refetching, so bursts cost one request. */
const EVENT_DEBOUNCE_MS = 250;

export class ActiveSessionsModel implements IDisposable {
  constructor(options: ActiveSessionsModel.IOptions) {
    this._events = options.events ?? null;
    this._refreshInterval = options.refreshInterval;
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

  /** When (ms since epoch) `sessions` were fetched: timers count from here. */
  get fetchedAt(): number {
    return this._fetchedAt;
  }

  /** The last error talking to the server, or null. */
  get error(): string | null {
    return this._error;
  }

  /** True when updates come from the event stream (no polling needed). */
  get live(): boolean {
    return this._events !== null;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get refreshInterval(): number {
    return this._refreshInterval;
  }

  set refreshInterval(seconds: number) {
    this._refreshInterval = seconds;
    this._schedulePoll();
  }

  session(id: string): IActiveSession | undefined {
    return this._sessions.find(s => s.session_id === id);
  }

  /**
   * Whether anyone is looking: polling (only used without events) stops while
   * nothing that shows sessions is visible.
   */
  setVisible(visible: boolean): void {
    this._visible = visible;
    if (visible) {
      void this.refresh();
    }
    this._schedulePoll();
  }

  /** Fetch the list now; concurrent calls share one request. */
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
    this._sessions = this._sessions.filter(s => s.session_id !== id);
    this._changed.emit();
    void this.refresh();
  }

  async update(id: string, patch: ISessionPatch): Promise<void> {
    await this._act(id, '', { method: 'PATCH', body: JSON.stringify(patch) });
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
    window.clearTimeout(this._pollTimer);
    window.clearTimeout(this._debounceTimer);
    Signal.clearData(this);
  }

  private async _act(
    id: string,
    action: string,
    init: RequestInit
  ): Promise<void> {
    const path = encodeURIComponent(id) + (action ? `/${action}` : '');
    const updated = await requestAPI<IActiveSession>(path, init);
    this._sessions = this._sessions.map(s =>
      s.session_id === updated.session_id ? updated : s
    );
    this._fetchedAt = Date.now();
    this._changed.emit();
  }

  private async _fetch(): Promise<void> {
    try {
      const list = await requestAPI<ISessionList>('');
      this._sessions = list.sessions;
      this._fetchedAt = Date.now();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message || String(error);
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _onEvent(_: Event.IManager, event: Event.Emission): void {
    if (event.schema_id === EVENT_SCHEMA_ID) {
      this._scheduleRefresh();
    }
  }

  private _scheduleRefresh(): void {
    window.clearTimeout(this._debounceTimer);
    this._debounceTimer = window.setTimeout(
      () => void this.refresh(),
      EVENT_DEBOUNCE_MS
    );
  }

  private _schedulePoll(): void {
    window.clearTimeout(this._pollTimer);
    if (this.live || !this._visible || this._isDisposed) {
      return;
    }
    this._pollTimer = window.setTimeout(async () => {
      await this.refresh();
      this._schedulePoll();
    }, Math.max(1, this._refreshInterval) * 1000);
  }

  private _events: Event.IManager | null;
  private _sessionManager: Session.IManager | null;
  private _refreshInterval: number;
  private _sessions: IActiveSession[] = [];
  private _fetchedAt = Date.now();
  private _error: string | null = null;
  private _visible = false;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _pollTimer = 0;
  private _debounceTimer = 0;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
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
