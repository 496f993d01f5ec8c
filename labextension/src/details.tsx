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
  formatDateTime,
  formatDuration,
  formatPercent,
  formatRelative,
  HIDDEN_WHY,
  ITranslate
} from './format';
import { isDeath } from './ends';
import { ExecutionList, useHistory } from './history';
import { LastWords, reasonDetail } from './lastWords';
import { MemoryChart, useTimeline } from './memory';
import { IRowContext } from './rowContext';
import { progress } from './sessions';
import { useTranslate } from './translate';
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
  const t = useTranslate();
  const ran = entry.started ? (now - Date.parse(entry.started)) / 1000 : 0;
  const done = progress(entry, now);
  const open = () => s.notebook_path && context.open(s.notebook_path, entry.cell_id);
  return (
    <div
      className="jp-ActiveSessions-active"
      title={s.notebook_path ? t.__('Go to this cell') : ''}
      onClick={open}
    >
      <div className="jp-ActiveSessions-entryHeader">
        {t.__('running')}
        {entry.execution_count !== null && ` [${entry.execution_count}]`}
        {entry.started && ' ' + t.__('for %1', formatDuration(ran, t))}
        {entry.expected_seconds !== null &&
          ' · ' + t.__('last run took %1', formatDuration(entry.expected_seconds, t))}
      </div>
      {done !== null && (
        <progress
          className="jp-ActiveSessions-progress"
          max={1}
          value={done}
          aria-label={t.__("Progress against the cell's last run")}
        />
      )}
      <pre>{codePreview(entry.code, context.codePreviewLines, entry.code_truncated, t)}</pre>
    </div>
  );
}

function Queue(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  const [open, setOpen] = React.useState(false);
  const t = useTranslate();
  const queue = s.execution_queue;
  return (
    <div className="jp-ActiveSessions-pending">
      <button className="jp-ActiveSessions-link" onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'} {t._n('%1 queued', '%1 queued', queue.length)}
      </button>
      {open &&
        queue.pending.map(entry => (
          <pre
            key={entry.msg_id}
            className="jp-ActiveSessions-pendingEntry"
            title={s.notebook_path ? t.__('Go to this cell') : ''}
            onClick={() => s.notebook_path && context.open(s.notebook_path, entry.cell_id)}
          >
            {codePreview(entry.code, context.codePreviewLines, entry.code_truncated, t)}
          </pre>
        ))}
    </div>
  );
}

function Culling(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  const t = useTranslate();
  const c = s.culling;
  let text: string;
  if (s.idle_timeout === 0) {
    text = t.__('Kept alive: never culled');
  } else if (c === null) {
    text = t.__('Not culled (the server does not cull idle kernels)');
  } else {
    const rule =
      c.source === 'session'
        ? t.__('its own timeout')
        : c.source === 'server'
          ? t.__("the server's rule")
          : t.__("the %1's rule", c.source);
    text =
      t.__('Culled after %1 idle (%2)', formatDuration(c.idle_timeout, t), rule) +
      (c.eligible
        ? ''
        : ' — ' + (s.status === 'busy' ? t.__('not while busy') : t.__('not while connected')));
  }
  const set = (idle_timeout: number | null) =>
    void run(t.__('Could not change culling'), () =>
      context.model.update(s.session_id, { idle_timeout })
    );
  return (
    <div className="jp-ActiveSessions-culling">
      <span>{text}</span>
      {s.idle_timeout !== null && (
        <button onClick={() => set(null)}>{t.__("Follow the server's rule")}</button>
      )}
      {c !== null && <button onClick={() => set(0)}>{t.__('Keep alive')}</button>}
    </div>
  );
}

function History(props: { s: IActiveSession; context: IRowContext }): JSX.Element {
  const { s, context } = props;
  const t = useTranslate();
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
    return <div className="jp-ActiveSessions-history">{t.__('Loading history…')}</div>;
  }
  if (h.executions.length === 0) {
    return <div className="jp-ActiveSessions-history">{t.__('Nothing finished yet.')}</div>;
  }
  return (
    <details className="jp-ActiveSessions-history" open>
      <summary>
        {h.total > h.executions.length
          ? t.__('History (last %1 of %2)', h.executions.length, h.total)
          : t.__('History (%1)', h.total)}
      </summary>
      <ExecutionList executions={h.executions} notebookPath={s.notebook_path} open={context.open} />
    </details>
  );
}

/** How the kernel's last process died (jupyter_client's restarter started
 * another): the reason, where it faulted, and what it wrote last. */
function LastExit(props: { s: IActiveSession; context: IRowContext }): JSX.Element | null {
  const { s, context } = props;
  const t = useTranslate();
  const x = s.last_exit;
  if (!x || !isDeath(x)) {
    return null; // a restart someone asked for: the facts below say it
  }
  const detail = reasonDetail(x.reason, x.last_words, t);
  const cellId = x.last_words?.fault?.cell_id;
  const path = s.notebook_path;
  return (
    <div className="jp-ActiveSessions-lastExit">
      <div className="jp-ActiveSessions-entryHeader">
        {t.__('Its last process: %1, %2', exitReason(x, t), formatRelative(x.ended, Date.now(), t))}
      </div>
      {detail && <div className="jp-ActiveSessions-faultLine">{detail}</div>}
      {path && cellId && (
        <button
          type="button"
          className="jp-ActiveSessions-link"
          onClick={() => context.open(path, cellId)}
        >
          {t.__('Go to cell')}
        </button>
      )}
      <LastWords words={x.last_words} />
    </div>
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
  const t = useTranslate();
  const [name, setName] = React.useState(s.display_name);
  const [input, setInput] = React.useState(s.input_prompt);
  const [continuation, setContinuation] = React.useState(s.continuation_prompt);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    await run(t.__('Could not save'), async () => {
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
        {t.__('Name')} <input value={name} onChange={e => setName(e.target.value)} />
      </label>
      <label>
        {t.__('Input prompt')} <input value={input} onChange={e => setInput(e.target.value)} />
      </label>
      <label>
        {t.__('Continuation prompt')}{' '}
        <input value={continuation} onChange={e => setContinuation(e.target.value)} />
      </label>
      <div>
        <button type="submit">{t.__('Save')}</button>
        <button type="button" onClick={props.onDone}>
          {t.__('Cancel')}
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

function lastExitText(s: IActiveSession, now: number, t: ITranslate): string {
  const e = s.last_exit;
  if (!e) {
    return '—';
  }
  return `${exitReason(e, t)}, ${formatRelative(e.ended, now, t)}`;
}

export function SessionDetails(props: {
  session: IActiveSession;
  context: IRowContext;
}): JSX.Element {
  const { session: s, context } = props;
  const t = useTranslate();
  const [editing, setEditing] = React.useState(false);
  const now = Date.now();
  const queue = s.execution_queue;
  const usage = s.resource_usage;
  const rows: [string, React.ReactNode][] = [
    [t.__('Kernel'), `${s.display_name} (${s.kernel_name})`],
    [t.__('Kernel id'), s.session_id],
    [t.__('Command'), s.argv ? s.argv.join(' ') : t.__(HIDDEN_WHY)],
    [t.__('Notebook'), s.notebook_path ?? `(${t.__(s.session_mode)})`],
    [t.__('Process id'), s.process_id ?? '—'],
    [t.__('User'), s.username],
    [t.__('Working directory'), s.working_directory],
    [t.__('Started'), formatDateTime(s.started, t)],
    [t.__('Restarts'), s.restart_count],
    [t.__('Last exit'), lastExitText(s, now, t)],
    [t.__('Clients'), s.connections],
    [t.__('Prompts'), `${JSON.stringify(s.input_prompt)} ${JSON.stringify(s.continuation_prompt)}`],
    [t.__('Interrupt mode'), s.interrupt_mode],
    [t.__('Socket'), s.socket_path ?? '—'],
    [
      t.__('Resources'),
      usage
        ? t.__(
            '%1 CPU · %2 · %3',
            formatPercent(usage.cpu_percent, t),
            formatBytes(usage.memory_bytes, t),
            t._n('%1 thread', '%1 threads', usage.thread_count)
          )
        : '—'
    ]
  ];
  return (
    <div className="jp-ActiveSessions-details">
      {s.awaiting_input && (
        <div className="jp-ActiveSessions-awaiting" role="alert">
          ⌨{' '}
          {s.awaiting_input.password
            ? t.__('Waiting for input (password):')
            : t.__('Waiting for input:')}{' '}
          <code>{s.awaiting_input.prompt || '…'}</code>
        </div>
      )}
      {queue.active && <Running s={s} entry={queue.active} context={context} />}
      {queue.length > 0 && <Queue s={s} context={context} />}
      {s.status !== 'exited' && <Culling s={s} context={context} />}
      <LastExit s={s} context={context} />
      <Resources s={s} context={context} />
      <History s={s} context={context} />
      <div className="jp-ActiveSessions-detailActions">
        <button onClick={() => setEditing(!editing)}>{t.__('Edit')}</button>
        <button
          className="jp-mod-warn"
          title={t.__('End the kernel and its child processes at once')}
          onClick={() => void confirmKill(context.model, s, t)}
        >
          {t.__('Kill')}
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
        <summary>{t.__('Process and kernel')}</summary>
        <KeyValueTable rows={rows} />
        {context.showEnvironment && s.argv === null && (
          <p className="jp-ActiveSessions-hidden">{t.__('Environment: %1', t.__(HIDDEN_WHY))}</p>
        )}
        {context.showEnvironment && s.initial_env && (
          <details>
            <summary>{t.__('Environment (%1)', Object.keys(s.initial_env).length)}</summary>
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
