/**
 * An expanded row: what runs (with progress against the cell's last run),
 * what is queued, culling and its keep-alive toggle, how the process last
 * ended, what the kernel ran (history), the process facts, and editing.
 */
import * as React from 'react';

import { confirmKill, run } from './actions';
import { useClock } from './clock';
import {
  codePreview,
  exitReason,
  formatBytes,
  formatDuration,
  formatRelative,
  HIDDEN_WHY
} from './format';
import { ExecutionList, useHistory } from './history';
import { MemoryChart, useTimeline } from './memory';
import { IRowContext } from './rowContext';
import { progress } from './sessions';
import { IActiveSession, IQueueEntry, ISessionPatch } from './types';

// Executions shown in an expanded row (the history route keeps more).
const HISTORY_SHOWN = 10;

function Running(props: {
  s: IActiveSession;
  entry: IQueueEntry;
  context: IRowContext;
}): JSX.Element {
  const { s, entry, context } = props;
  const now = useClock(context.clock);
  const ran = entry.started ? (now - Date.parse(entry.started)) / 1000 : 0;
  const done = progress(entry, now);
  const open = () => s.notebook_path && context.open(s.notebook_path, entry.cell_id);
  return (
    <div
      className="jp-ActiveSessions-active"
      title={s.notebook_path ? 'Go to this cell' : ''}
      onClick={open}
    >
      <div className="jp-ActiveSessions-entryHeader">
        running
        {entry.execution_count !== null && ` [${entry.execution_count}]`}
        {entry.started && ` for ${formatDuration(ran)}`}
        {entry.expected_seconds !== null &&
          ` · last run took ${formatDuration(entry.expected_seconds)}`}
      </div>
      {done !== null && (
        <progress
          className="jp-ActiveSessions-progress"
          max={1}
          value={done}
          aria-label="Progress against the cell's last run"
        />
      )}
      <pre>{codePreview(entry.code, context.codePreviewLines, entry.code_truncated)}</pre>
    </div>
  );
}

function Queue(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  const [open, setOpen] = React.useState(false);
  const queue = s.execution_queue;
  return (
    <div className="jp-ActiveSessions-pending">
      <button className="jp-ActiveSessions-link" onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'} {queue.length} queued
      </button>
      {open &&
        queue.pending.map(entry => (
          <pre
            key={entry.msg_id}
            className="jp-ActiveSessions-pendingEntry"
            title={s.notebook_path ? 'Go to this cell' : ''}
            onClick={() => s.notebook_path && context.open(s.notebook_path, entry.cell_id)}
          >
            {codePreview(entry.code, context.codePreviewLines, entry.code_truncated)}
          </pre>
        ))}
    </div>
  );
}

function Culling(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  const c = s.culling;
  let text: string;
  if (s.idle_timeout === 0) {
    text = 'Kept alive: never culled';
  } else if (c === null) {
    text = 'Not culled (the server does not cull idle kernels)';
  } else {
    const rule = c.source === 'session' ? 'its own timeout' : `the ${c.source}'s rule`;
    text =
      `Culled after ${formatDuration(c.idle_timeout)} idle (${rule})` +
      (c.eligible ? '' : ' — not while ' + (s.status === 'busy' ? 'busy' : 'connected'));
  }
  const set = (idle_timeout: number | null) =>
    void run('change culling', () => context.model.update(s.session_id, { idle_timeout }));
  return (
    <div className="jp-ActiveSessions-culling">
      <span>{text}</span>
      {s.idle_timeout !== null && (
        <button onClick={() => set(null)}>Follow the server's rule</button>
      )}
      {c !== null && <button onClick={() => set(0)}>Keep alive</button>}
    </div>
  );
}

function History(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  // Fetched on expanding, and again when the kernel has run something new.
  const h = useHistory(
    () => context.model.history(s.session_id, HISTORY_SHOWN),
    [
      context.model,
      s.session_id,
      s.execution_count,
      s.execution_queue.active?.msg_id,
      s.execution_queue.length
    ]
  );
  if (h === null) {
    return <div className="jp-ActiveSessions-history">Loading history…</div>;
  }
  if (h.executions.length === 0) {
    return <div className="jp-ActiveSessions-history">Nothing finished yet.</div>;
  }
  return (
    <details className="jp-ActiveSessions-history" open>
      <summary>
        History (
        {h.total > h.executions.length ? `last ${h.executions.length} of ${h.total}` : h.total})
      </summary>
      <ExecutionList executions={h.executions} notebookPath={s.notebook_path} open={context.open} />
    </details>
  );
}

function Resources(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  // Fetched on expanding, and again with each new sample the list brings.
  const timeline = useTimeline(
    () => context.model.resources(s.session_id),
    [context.model, s.session_id, s.resource_usage?.timestamp]
  );
  return <MemoryChart timeline={timeline} />;
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
        Input prompt <input value={input} onChange={e => setInput(e.target.value)} />
      </label>
      <label>
        Continuation prompt{' '}
        <input value={continuation} onChange={e => setContinuation(e.target.value)} />
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

function KeyValueTable(props: { rows: [string, React.ReactNode][] }): JSX.Element {
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

function lastExitText(s: IActiveSession, now: number): string {
  const e = s.last_exit;
  if (!e) {
    return '—';
  }
  return `${exitReason(e)}, ${formatRelative(e.ended, now)}`;
}

export function SessionDetails(props: {
  session: IActiveSession;
  context: IRowContext;
}): JSX.Element {
  const { session: s, context } = props;
  const [editing, setEditing] = React.useState(false);
  const now = Date.now();
  const queue = s.execution_queue;
  const usage = s.resource_usage;
  const rows: [string, React.ReactNode][] = [
    ['Kernel', `${s.display_name} (${s.kernel_name})`],
    ['Kernel id', s.session_id],
    ['Command', s.argv ? s.argv.join(' ') : HIDDEN_WHY],
    ['Notebook', s.notebook_path ?? `(${s.session_mode})`],
    ['Process id', s.process_id ?? '—'],
    ['User', s.username],
    ['Working directory', s.working_directory],
    ['Started', new Date(s.started).toLocaleString()],
    ['Restarts', s.restart_count],
    ['Last exit', lastExitText(s, now)],
    ['Clients', s.connections],
    ['Prompts', `${JSON.stringify(s.input_prompt)} ${JSON.stringify(s.continuation_prompt)}`],
    ['Interrupt mode', s.interrupt_mode],
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
      {s.awaiting_input && (
        <div className="jp-ActiveSessions-awaiting" role="alert">
          ⌨ Waiting for input{s.awaiting_input.password ? ' (password)' : ''}:{' '}
          <code>{s.awaiting_input.prompt || '…'}</code>
        </div>
      )}
      {queue.active && <Running s={s} entry={queue.active} context={context} />}
      {queue.length > 0 && <Queue s={s} context={context} />}
      {s.status !== 'exited' && <Culling s={s} context={context} />}
      <Resources s={s} context={context} />
      <History s={s} context={context} />
      <div className="jp-ActiveSessions-detailActions">
        <button onClick={() => setEditing(!editing)}>Edit</button>
        <button
          className="jp-mod-warn"
          title="End the kernel and its child processes at once"
          onClick={() => void confirmKill(context.model, s)}
        >
          Kill
        </button>
      </div>
      {editing && (
        <EditForm
          session={s}
          onDone={() => setEditing(false)}
          onSave={patch => context.model.update(s.session_id, patch)}
        />
      )}
      <details className="jp-ActiveSessions-facts">
        <summary>Process and kernel</summary>
        <KeyValueTable rows={rows} />
        {context.showEnvironment && s.argv === null && (
          <p className="jp-ActiveSessions-hidden">Environment: {HIDDEN_WHY}</p>
        )}
        {context.showEnvironment && s.initial_env && (
          <details>
            <summary>Environment ({Object.keys(s.initial_env).length})</summary>
            <KeyValueTable rows={Object.entries(s.initial_env)} />
          </details>
        )}
        <details>
          <summary>kernel_info</summary>
          <pre>{JSON.stringify(s.kernel_info, null, 2)}</pre>
        </details>
      </details>
    </div>
  );
}
