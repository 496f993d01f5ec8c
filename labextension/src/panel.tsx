/**
 * The "Active Sessions" sidebar: one card per kernel, live.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import {
  ReactWidget,
  UseSignal,
  refreshIcon,
  stopIcon,
  closeIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import {
  codePreview,
  formatBytes,
  formatDuration,
  formatRelative,
  liveSeconds,
  statusSummary
} from './format';
import { ActiveSessionsModel } from './model';
import { IActiveSession, IQueueEntry, ISessionPatch } from './types';

export interface IPanelOptions {
  model: ActiveSessionsModel;
  /** Open a notebook, at a cell when `cellId` is given. */
  open: (path: string, cellId?: string | null) => void;
  codePreviewLines: () => number;
  showEnvironment: () => boolean;
}

export class ActiveSessionsPanel extends ReactWidget {
  constructor(private options: IPanelOptions) {
    super();
    this.addClass('jp-ActiveSessions');
  }

  /** Re-render (settings changed). */
  refresh(): void {
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.options.model.setVisible(true);
    // Timers tick client-side between server updates; only while shown.
    this._ticker = window.setInterval(() => this.update(), 1000);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.options.model.setVisible(false);
    window.clearInterval(this._ticker);
  }

  dispose(): void {
    window.clearInterval(this._ticker);
    super.dispose();
  }

  render(): JSX.Element {
    const { model } = this.options;
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <div className="jp-ActiveSessions-body">
            <div className="jp-ActiveSessions-header">
              <h2>Active Sessions</h2>
              <button
                className="jp-ActiveSessions-iconButton"
                title="Refresh"
                onClick={() => void model.refresh()}
              >
                <refreshIcon.react tag="span" />
              </button>
            </div>
            {model.error && (
              <div className="jp-ActiveSessions-error">{model.error}</div>
            )}
            {model.sessions.length === 0 ? (
              <div className="jp-ActiveSessions-empty">No running kernels.</div>
            ) : (
              model.sessions.map(s => (
                <SessionCard
                  key={s.session_id}
                  session={s}
                  fetchedAt={model.fetchedAt}
                  {...this.options}
                />
              ))
            )}
          </div>
        )}
      </UseSignal>
    );
  }

  private _ticker = 0;
}

async function run(what: string, action: () => Promise<unknown>) {
  try {
    await action();
  } catch (error) {
    await showErrorMessage(`Could not ${what}`, error as Error);
  }
}

function SessionCard(
  props: IPanelOptions & { session: IActiveSession; fetchedAt: number }
): JSX.Element {
  const { session: s, model, open, fetchedAt } = props;
  const [expanded, setExpanded] = React.useState(false);
  const [details, setDetails] = React.useState(false);
  const [editing, setEditing] = React.useState(false);
  const now = Date.now();
  const busy = s.status === 'busy' ? liveSeconds(s.busy_seconds, fetchedAt, now) : 0;
  const idle =
    s.status === 'idle' || s.status === 'ready'
      ? liveSeconds(s.idle_seconds, fetchedAt, now)
      : 0;
  const queue = s.execution_queue;
  const lines = props.codePreviewLines();
  const openEntry = (entry: IQueueEntry) =>
    s.notebook_path && open(s.notebook_path, entry.cell_id);

  const shutdown = async () => {
    const result = await showDialog({
      title: 'Shut down kernel?',
      body: `Shut down "${s.display_name}"${
        s.notebook_path ? ` (${s.notebook_path})` : ''
      }? Its variables are lost.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Shut Down' })]
    });
    if (result.button.accept) {
      await run('shut down the kernel', () => model.shutdown(s.session_id));
    }
  };

  return (
    <div
      className={`jp-ActiveSessions-card jp-mod-${s.status}`}
      data-session-id={s.session_id}
    >
      <div className="jp-ActiveSessions-cardHeader">
        <span
          className={`jp-ActiveSessions-connected ${s.connected ? 'jp-mod-connected' : ''}`}
          title={
            s.connected
              ? `${s.connections} client(s) connected`
              : 'No client connected'
          }
        />
        <span className="jp-ActiveSessions-name" title={s.kernel_name}>
          {s.display_name}
        </span>
        <span className={`jp-ActiveSessions-badge jp-mod-${s.status}`}>
          {statusSummary(s.status, busy, idle, 0, false)}
        </span>
      </div>
      <div className="jp-ActiveSessions-meta">
        <span>{s.language}</span>
        <span>{s.session_mode}</span>
        <span title={new Date(s.started).toLocaleString()}>
          started {formatRelative(s.started, now)}
        </span>
      </div>
      {s.notebook_path && (
        <button
          className="jp-ActiveSessions-link"
          title={`Open ${s.notebook_path}`}
          onClick={() => open(s.notebook_path!)}
        >
          {s.notebook_path}
        </button>
      )}
      {s.awaiting_input && (
        <div className="jp-ActiveSessions-awaiting" role="alert">
          ⌨ Waiting for input{s.awaiting_input.password ? ' (password)' : ''}:{' '}
          <code>{s.awaiting_input.prompt || '…'}</code>
        </div>
      )}
      {queue.active && (
        <div
          className="jp-ActiveSessions-active"
          title={s.notebook_path ? 'Go to this cell' : ''}
          onClick={() => openEntry(queue.active!)}
        >
          <div className="jp-ActiveSessions-entryHeader">
            running
            {queue.active.execution_count !== null &&
              ` [${queue.active.execution_count}]`}
            {queue.active.started &&
              ` for ${formatDuration((now - Date.parse(queue.active.started)) / 1000)}`}
          </div>
          <pre>
            {codePreview(queue.active.code, lines, queue.active.code_truncated)}
          </pre>
        </div>
      )}
      {queue.length > 0 && (
        <div className="jp-ActiveSessions-pending">
          <button
            className="jp-ActiveSessions-link"
            onClick={() => setExpanded(!expanded)}
          >
            {expanded ? '▾' : '▸'} {queue.length} queued
          </button>
          {expanded &&
            queue.pending.map(entry => (
              <pre
                key={entry.msg_id}
                className="jp-ActiveSessions-pendingEntry"
                title={s.notebook_path ? 'Go to this cell' : ''}
                onClick={() => openEntry(entry)}
              >
                {codePreview(entry.code, lines, entry.code_truncated)}
              </pre>
            ))}
        </div>
      )}
      <div className="jp-ActiveSessions-actions">
        <button
          title="Interrupt the kernel"
          onClick={() => run('interrupt', () => model.interrupt(s.session_id))}
        >
          <stopIcon.react tag="span" /> Interrupt
        </button>
        <button
          title="Restart the kernel"
          onClick={() => run('restart', () => model.restart(s.session_id))}
        >
          <refreshIcon.react tag="span" /> Restart
        </button>
        <button title="Shut the kernel down" onClick={() => void shutdown()}>
          <closeIcon.react tag="span" /> Shut Down
        </button>
        <button onClick={() => setDetails(!details)}>
          {details ? 'Less' : 'Details'}
        </button>
        <button onClick={() => setEditing(!editing)}>Edit</button>
      </div>
      {editing && (
        <EditForm
          session={s}
          onDone={() => setEditing(false)}
          onSave={patch => model.update(s.session_id, patch)}
        />
      )}
      {details && <Details session={s} showEnvironment={props.showEnvironment()} />}
    </div>
  );
}

function EditForm(props: {
  session: IActiveSession;
  onSave: (patch: ISessionPatch) => Promise<void>;
  onDone: () => void;
}): JSX.Element {
  const s = props.session;
  const [name, setName] = React.useState(s.display_name);
  const [input, setInput] = React.useState(s.input_prompt);
  const [continuation, setContinuation] = React.useState(s.continuation_prompt);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    await run('save', async () => {
      await props.onSave({
        display_name: name,
        input_prompt: input,
        continuation_prompt: continuation
      });
      props.onDone();
    });
  };
  return (
    <form className="jp-ActiveSessions-edit" onSubmit={save}>
      <label>
        Name <input value={name} onChange={e => setName(e.target.value)} />
      </label>
      <label>
        Input prompt{' '}
        <input value={input} onChange={e => setInput(e.target.value)} />
      </label>
      <label>
        Continuation prompt{' '}
        <input
          value={continuation}
          onChange={e => setContinuation(e.target.value)}
        />
      </label>
      <div>
        <button type="submit">Save</button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Details(props: {
  session: IActiveSession;
  showEnvironment: boolean;
}): JSX.Element {
  const s = props.session;
  const usage = s.resource_usage;
  const rows: [string, React.ReactNode][] = [
    ['Kernel id', s.session_id],
    ['Command', s.argv.join(' ')],
    ['Process id', s.process_id ?? '—'],
    ['User', s.username],
    ['Working directory', s.working_directory],
    ['Prompts', `${JSON.stringify(s.input_prompt)} ${JSON.stringify(s.continuation_prompt)}`],
    ['Interrupt mode', s.interrupt_mode],
    ['Started', new Date(s.started).toLocaleString()],
    ['Restarts', s.restart_count],
    ['Socket', s.socket_path ?? '—'],
    [
      'Resources',
      usage
        ? `${usage.cpu_percent}% CPU · ${formatBytes(usage.memory_bytes)} · ${usage.thread_count} threads`
        : '—'
    ]
  ];
  return (
    <div className="jp-ActiveSessions-details">
      <KeyValueTable rows={rows} />
      {props.showEnvironment && s.initial_env && (
        <details>
          <summary>Environment ({Object.keys(s.initial_env).length})</summary>
          <KeyValueTable rows={Object.entries(s.initial_env)} />
        </details>
      )}
      <details>
        <summary>kernel_info</summary>
        <pre>{JSON.stringify(s.kernel_info, null, 2)}</pre>
      </details>
    </div>
  );
}

function KeyValueTable(props: {
  rows: [string, React.ReactNode][];
}): JSX.Element {
  return (
    <table>
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
