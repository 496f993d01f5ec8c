/**
 * The status bar item, a plugin of its own that sees the sessions through
 * the `IActiveSessions` token alone, as any other extension would (index.ts).
 *
 * It speaks for the kernel of the current notebook or console: a
 * status dot and "running 12s · 3 queued" (format.ts says why the words
 * "Idle" and "Busy" are not shown; the accessible name says them). Clicking
 * it opens the panel. Its timer follows the shared clock (clock.ts), which it
 * keeps running while it shows a kernel.
 */
import { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { Clock, useClock } from './clock';
import { formatUsedOf, ITranslate, statusBarLabel, statusBarText } from './format';
import { liveSeconds } from './sessions';
import { IActiveSessions } from './tokens';

function StatusText(props: {
  model: IActiveSessions;
  clock: Clock;
  kernelId: string;
  onOpen: () => void;
  t: ITranslate;
}): JSX.Element {
  const now = useClock(props.clock);
  const t = props.t;
  const s = props.model.session(props.kernelId);
  if (!s) {
    return <span />;
  }
  const fetchedAt = props.model.fetchedAtOf(s.session_id);
  const figures: Parameters<typeof statusBarText> = [
    s.status,
    s.status === 'busy' ? liveSeconds(s.busy_seconds, fetchedAt, now) : 0,
    liveSeconds(s.idle_seconds, fetchedAt, now),
    s.execution_queue.length,
    s.awaiting_input !== null,
    t
  ];
  // Near the memory limit, the figure that matters most is said here too.
  const m = props.model.memory;
  const memory =
    m?.warning && m.used_bytes !== null && m.limit_bytes
      ? t.__('memory %1', formatUsedOf(m.used_bytes, m.limit_bytes, t))
      : '';
  const label = statusBarLabel(...figures) + (memory ? ', ' + t.__('%1 used', memory) : '');
  return (
    <button
      type="button"
      className={`jp-ActiveSessions-statusText jp-mod-${s.status}`}
      title={t.__('%1. Active Sessions: click to open the panel', label)}
      aria-label={label}
      onClick={props.onOpen}
    >
      <span
        className={`jp-ActiveSessions-dot jp-mod-${s.awaiting_input ? 'input' : s.status}`}
        aria-hidden="true"
      />
      {statusBarText(...figures)}
      {memory && <span className="jp-ActiveSessions-statusMemory"> · {memory}</span>}
    </button>
  );
}

export class SessionStatusItem extends ReactWidget {
  constructor(
    private model: IActiveSessions,
    private clock: Clock,
    private onOpen: () => void,
    private t: ITranslate
  ) {
    super();
    this.addClass('jp-ActiveSessions-statusItem');
  }

  /** The kernel of the current document, or null. */
  set kernelId(id: string | null) {
    if ((id === null) !== (this._kernelId === null)) {
      // The clock runs for the status bar only while it shows a kernel.
      if (id === null) {
        this.clock.stop();
      } else {
        this.clock.start();
      }
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
              t={this.t}
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

/**
 * Put the item in the status bar, following the kernel of the document in
 * front (a notebook or console: any widget with a sessionContext).
 */
export function addStatusItem(
  app: JupyterFrontEnd,
  statusBar: IStatusBar,
  labShell: ILabShell | null,
  model: IActiveSessions,
  clock: Clock,
  openPanel: () => void,
  t: ITranslate
): void {
  const item = new SessionStatusItem(model, clock, openPanel, t);
  statusBar.registerStatusItem('jupyter-session-ext:status', {
    item,
    align: 'left',
    rank: 4,
    isActive: () => true
  });
  let followed: ISessionContext | null = null;
  const follow = () => {
    const current = app.shell.currentWidget as
      (Widget & { sessionContext?: ISessionContext }) | null;
    const context = current?.sessionContext ?? null;
    if (context !== followed) {
      followed?.kernelChanged.disconnect(follow);
      context?.kernelChanged.connect(follow);
      followed = context;
    }
    item.kernelId = context?.session?.kernel?.id ?? null;
  };
  labShell?.currentChanged.connect(follow);
  follow();
}
