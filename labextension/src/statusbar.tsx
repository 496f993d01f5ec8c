/**
 * Status bar item for the kernel of the current notebook or console:
 * "busy 12s · 3 queued". Clicking it opens the panel. Its timer follows the
 * shared clock (clock.ts), which it keeps running while it shows a kernel.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Clock, useClock } from './clock';
import { statusSummary } from './format';
import { liveSeconds } from './sessions';
import { ActiveSessionsModel } from './model';

function StatusText(props: {
  model: ActiveSessionsModel;
  clock: Clock;
  kernelId: string;
  onOpen: () => void;
}): JSX.Element {
  const now = useClock(props.clock);
  const s = props.model.session(props.kernelId);
  if (!s) {
    return <span />;
  }
  const fetchedAt = props.model.fetchedAtOf(s.session_id);
  const text = statusSummary(
    s.status,
    s.status === 'busy' ? liveSeconds(s.busy_seconds, fetchedAt, now) : 0,
    liveSeconds(s.idle_seconds, fetchedAt, now),
    s.execution_queue.length,
    s.awaiting_input !== null
  );
  return (
    <span
      className={`jp-ActiveSessions-statusText jp-mod-${s.status}`}
      title="Active Sessions: click to open the panel"
      onClick={props.onOpen}
    >
      {text}
    </span>
  );
}

export class SessionStatusItem extends ReactWidget {
  constructor(
    private model: ActiveSessionsModel,
    private clock: Clock,
    private onOpen: () => void
  ) {
    super();
    this.addClass('jp-ActiveSessions-statusItem');
  }

  /** The kernel of the current document, or null. */
  set kernelId(id: string | null) {
    if ((id === null) !== (this._kernelId === null)) {
      // The clock runs for the status bar only while it shows a kernel.
      id === null ? this.clock.stop() : this.clock.start();
    }
    this._kernelId = id;
    this.update();
  }

  dispose(): void {
    if (this._kernelId !== null) {
      this.clock.stop();
    }
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() =>
          this._kernelId ? (
            <StatusText
              model={this.model}
              clock={this.clock}
              kernelId={this._kernelId}
              onOpen={this.onOpen}
            />
          ) : (
            <span />
          )
        }
      </UseSignal>
    );
  }

  private _kernelId: string | null = null;
}
