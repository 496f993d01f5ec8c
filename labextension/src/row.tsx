/**
 * One kernel: its name on a line of its own (readable at JupyterLab's
 * default sidebar width), and under it the kernel (its logo), the live
 * timer, memory, CPU and the last hour's sparkline, with the icon actions
 * over them on hover or focus; a busy row adds what it runs and what is
 * queued; a countdown line when idle culling is near. Click, Enter or Space
 * on the name expands it to the details (details.tsx).
 *
 * Memoized on its session object: the model replaces a session's object only
 * when that session changed, so an event for one kernel re-renders one row.
 * The timers inside subscribe to the shared clock themselves.
 */
import { closeIcon, refreshIcon, stopIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { confirmKill, confirmShutdown, run } from './actions';
import { Clock, useClock } from './clock';
import { SessionDetails } from './details';
import { formatBytes, formatDuration, formatPercent, telltaleLine } from './format';
import { Sparkline } from './memory';
import { IRowContext } from './rowContext';
import { cullCountdown, liveSeconds, progress, rowTitle } from './sessions';
import { useTranslate } from './translate';
import { IActiveSession } from './types';

export interface IRowProps {
  session: IActiveSession;
  fetchedAt: number;
  expanded: boolean;
  selected: boolean;
  context: IRowContext;
  onToggle: (id: string) => void;
  onSelect: (id: string, selected: boolean) => void;
}

// A kernel still busy this long after an interrupt gets a Kill button.
const INTERRUPT_GRACE_MS = 5000;

function LiveTimer(props: { s: IActiveSession; fetchedAt: number; clock: Clock }): JSX.Element {
  const now = useClock(props.clock);
  const t = useTranslate();
  const { s, fetchedAt } = props;
  let text = t.__(s.status);
  if (s.awaiting_input) {
    text = t.__('input');
  } else if (s.status === 'busy') {
    text = formatDuration(liveSeconds(s.busy_seconds, fetchedAt, now), t);
  } else if (s.status === 'idle' || s.status === 'ready') {
    text = formatDuration(liveSeconds(s.idle_seconds, fetchedAt, now), t);
  }
  const what = s.awaiting_input ? t.__('waiting for input') : t.__(s.status);
  return (
    <span className="jp-ActiveSessions-timer" title={`${what} ${text}`}>
      {text}
    </span>
  );
}

function CullCountdown(props: {
  s: IActiveSession;
  fetchedAt: number;
  context: IRowContext;
}): JSX.Element | null {
  const now = useClock(props.context.clock);
  const t = useTranslate();
  const left = cullCountdown(props.s, props.fetchedAt, props.context.cullWarningSeconds, now);
  if (left === null) {
    return null;
  }
  const keep = (e: React.MouseEvent) => {
    e.stopPropagation();
    void run(t.__('Could not keep the kernel alive'), () =>
      props.context.model.update(props.s.session_id, { idle_timeout: 0 })
    );
  };
  // A line of its own under the row: rare, and not to be missed.
  return (
    <div className="jp-ActiveSessions-cull" title={t.__('Idle culling will shut this kernel down')}>
      ⌛ {t.__('culled in %1 unless used', formatDuration(left, t))}
      <button
        className="jp-ActiveSessions-keepAlive"
        aria-label={t.__('Keep alive: never cull this kernel')}
        title={t.__('Keep alive: never cull this kernel')}
        onClick={keep}
      >
        {t.__('Keep alive')}
      </button>
    </div>
  );
}

function IconButton(props: {
  label: string;
  icon: typeof stopIcon;
  onClick: () => void;
  className?: string;
}): JSX.Element {
  return (
    <button
      className={`jp-ActiveSessions-action ${props.className ?? ''}`}
      aria-label={props.label}
      title={props.label}
      onClick={e => {
        e.stopPropagation();
        props.onClick();
      }}
    >
      <props.icon.react tag="span" elementSize="small" />
    </button>
  );
}

/** Interrupt, or Kill once an interrupt has not stopped a busy kernel. */
function InterruptOrKill(props: {
  s: IActiveSession;
  interruptedAt: number;
  context: IRowContext;
  onInterrupt: () => void;
}): JSX.Element {
  const now = useClock(props.context.clock);
  const t = useTranslate();
  if (props.s.status === 'busy' && now - props.interruptedAt > INTERRUPT_GRACE_MS) {
    return (
      <IconButton
        label={t.__('Kill (the interrupt did not stop it)')}
        icon={closeIcon}
        className="jp-mod-kill"
        onClick={() => void confirmKill(props.context.model, props.s, t)}
      />
    );
  }
  return <IconButton label={t.__('Interrupt')} icon={stopIcon} onClick={props.onInterrupt} />;
}

/** "Python 3" of "Python 3 (ipykernel)": the kernel, in a few characters. */
export function shortKernelName(displayName: string): string {
  return displayName.replace(/\s*\([^)]*\)\s*$/, '') || displayName;
}

/** The kernel a row runs: its kernelspec's logo, and its short name. */
function KernelBadge(props: { s: IActiveSession; logo: string | null }): JSX.Element {
  const { s, logo } = props;
  const name = shortKernelName(s.display_name);
  return (
    <span
      className={`jp-ActiveSessions-kernel${logo ? ' jp-mod-logo' : ''}`}
      title={`${s.display_name} (${s.kernel_name})`}
    >
      {logo && <img className="jp-ActiveSessions-kernelLogo" src={logo} alt="" />}
      <span className="jp-ActiveSessions-kernelName">{name}</span>
    </span>
  );
}

/** A collapsed busy row says what it runs: the cell's first line, how much
 * waits behind it and its progress against the cell's last run. */
function RunningLine(props: { s: IActiveSession; context: IRowContext }): JSX.Element | null {
  const { s, context } = props;
  const now = useClock(context.clock);
  const t = useTranslate();
  const entry = s.execution_queue.active;
  if (!entry) {
    return null;
  }
  const queued = s.execution_queue.length;
  const done = progress(entry, now);
  const code =
    entry.code === null ? t.__('(code hidden)') : telltaleLine(entry.code) || t.__('(empty cell)');
  const content = (
    <>
      <code className="jp-ActiveSessions-runningCode">{code}</code>
      {queued > 0 && (
        <span className="jp-ActiveSessions-runningQueue">
          {t._n('%1 queued', '%1 queued', queued)}
        </span>
      )}
      {done !== null && (
        <progress
          className="jp-ActiveSessions-progress"
          max={1}
          value={done}
          aria-label={t.__("Progress against the cell's last run")}
        />
      )}
    </>
  );
  const path = s.notebook_path;
  if (!path) {
    return <div className="jp-ActiveSessions-runningLine">{content}</div>;
  }
  return (
    <button
      type="button"
      className="jp-ActiveSessions-runningLine"
      title={t.__('Go to the running cell: %1', entry.code ?? '').trim()}
      onClick={() => context.open(path, entry.cell_id)}
    >
      {content}
    </button>
  );
}

function SessionRowImpl(props: IRowProps): JSX.Element {
  const { session: s, fetchedAt, expanded, selected, context } = props;
  const { model } = context;
  const t = useTranslate();
  const [interruptedAt, setInterruptedAt] = React.useState<number | null>(null);
  React.useEffect(() => {
    if (s.status !== 'busy') {
      setInterruptedAt(null); // it stopped: the interrupt worked
    }
  }, [s.status]);
  const usage = s.resource_usage;
  const title = rowTitle(s);
  const toggle = () => props.onToggle(s.session_id);

  const interrupt = () => {
    setInterruptedAt(Date.now());
    void run(t.__('Could not interrupt'), () => model.interrupt(s.session_id));
  };

  // The toggle, the checkbox and the actions are siblings: a control inside
  // another is one a screen reader cannot reach.
  return (
    <li
      className={`jp-ActiveSessions-row jp-mod-${s.status}${expanded ? ' jp-mod-expanded' : ''}`}
      data-session-id={s.session_id}
    >
      <div className="jp-ActiveSessions-head">
        <input
          type="checkbox"
          className="jp-ActiveSessions-select"
          aria-label={t.__('Select %1', title)}
          checked={selected}
          onChange={e => props.onSelect(s.session_id, e.target.checked)}
        />
        <button
          type="button"
          className="jp-ActiveSessions-line"
          aria-expanded={expanded}
          aria-label={t.__(
            '%1, %2',
            title,
            s.awaiting_input ? t.__('waiting for input') : t.__(s.status)
          )}
          onClick={toggle}
        >
          <span
            className={`jp-ActiveSessions-dot jp-mod-${s.awaiting_input ? 'input' : s.status}`}
            title={s.awaiting_input ? t.__('waiting for input') : t.__(s.status)}
          />
          <span
            className="jp-ActiveSessions-title"
            title={s.notebook_path ?? `${s.session_id} · ${s.display_name}`}
          >
            {title}
          </span>
        </button>
        <div className="jp-ActiveSessions-figures" onClick={toggle}>
          <KernelBadge s={s} logo={context.kernelLogo(s.kernel_name)} />
          <LiveTimer s={s} fetchedAt={fetchedAt} clock={context.clock} />
          <span
            className="jp-ActiveSessions-memory"
            title={t.__('Memory (kernel and its children)')}
          >
            {usage ? formatBytes(usage.memory_bytes, t) : '—'}
          </span>
          <span className="jp-ActiveSessions-cpu" title={t.__('CPU (kernel and its children)')}>
            {usage ? formatPercent(usage.cpu_percent, t) : '—'}
          </span>
          <Sparkline timeline={model.sparkline(s.session_id)} />
        </div>
        <span className="jp-ActiveSessions-actions">
          {interruptedAt === null ? (
            <IconButton label={t.__('Interrupt')} icon={stopIcon} onClick={interrupt} />
          ) : (
            <InterruptOrKill
              s={s}
              interruptedAt={interruptedAt}
              context={context}
              onInterrupt={interrupt}
            />
          )}
          <IconButton
            label={t.__('Restart')}
            icon={refreshIcon}
            onClick={() => void run(t.__('Could not restart'), () => model.restart(s.session_id))}
          />
          <IconButton
            label={t.__('Shut down')}
            icon={closeIcon}
            onClick={() => void confirmShutdown(model, [s], t)}
          />
        </span>
      </div>
      {s.status === 'busy' && !expanded && <RunningLine s={s} context={context} />}
      <CullCountdown s={s} fetchedAt={fetchedAt} context={context} />
      {expanded && <SessionDetails session={s} context={context} />}
    </li>
  );
}

export const SessionRow = React.memo(SessionRowImpl);
