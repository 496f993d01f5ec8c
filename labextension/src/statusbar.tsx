/**
 * Status bar item for the kernel of the current notebook or console:
 * "busy 12s · 3 queued". Clicking it opens the panel.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { liveSeconds, statusSummary } from './format';
import { ActiveSessionsModel } from './model';

export class SessionStatusItem extends ReactWidget {
  constructor(
    private model: ActiveSessionsModel,
    private onOpen: () => void
  ) {
    super();
    this.addClass('jp-ActiveSessions-statusItem');
    this._ticker = window.setInterval(() => this.update(), 1000);
  }

  /** The kernel of the current document, or null. */
  set kernelId(id: string | null) {
    this._kernelId = id;
    this.update();
  }

  dispose(): void {
    window.clearInterval(this._ticker);
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => {
          const s = this._kernelId ? this.model.session(this._kernelId) : null;
          if (!s) {
            return <span />;
          }
          const now = Date.now();
          const text = statusSummary(
            s.status,
            s.status === 'busy' ? liveSeconds(s.busy_seconds, this.model.fetchedAt, now) : 0,
            liveSeconds(s.idle_seconds, this.model.fetchedAt, now),
            s.execution_queue.length,
            s.awaiting_input !== null
          );
          return (
            <span
              className={`jp-ActiveSessions-statusText jp-mod-${s.status}`}
              title="Active Sessions: click to open the panel"
              onClick={this.onOpen}
            >
              {text}
            </span>
          );
        }}
      </UseSignal>
    );
  }

  private _kernelId: string | null = null;
  private _ticker: number;
}
