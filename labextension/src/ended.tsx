/**
 * "Recently ended": kernels that are gone and why (culled, killed, exited,
 * out of memory, failed to start, shut down by whom, or with a server that
 * stopped or was lost), and the crashes of kernels that were restarted
 * (ends.ts), collapsed by default, with a way back to the notebook. A line
 * under a crash says where it faulted. A click on one shows that line whole,
 * what its process wrote last (lastWords.tsx) and what it last ran; the
 * server keeps those across its restarts.
 */
import * as React from 'react';

import { endCell, IKernelEnd } from './ends';
import { endedReason, formatDateTime, formatRelative, ITranslate } from './format';
import { ExecutionList, useHistory } from './history';
import { LastWords, reasonDetail } from './lastWords';
import { rowTitle } from './sessions';
import { useTranslate } from './translate';
import { IHistory } from './types';

// Executions shown for an ended kernel.
const ENDED_HISTORY_SHOWN = 5;
const HISTORY_CLASS = 'jp-ActiveSessions-history jp-ActiveSessions-endedHistory';

/** "killed by signal 11", "killed by signal 11, restarted". */
export function endReason(e: IKernelEnd, t: ITranslate): string {
  const reason = endedReason(e, t);
  return e.restarted ? t.__('%1, restarted', reason) : reason;
}

function EndedHistory(props: {
  e: IKernelEnd;
  history: (id: string, limit: number) => Promise<IHistory>;
  open: (path: string, cellId?: string | null) => void;
}): JSX.Element {
  const { e } = props;
  const t = useTranslate();
  const h = useHistory(() => props.history(e.session_id, ENDED_HISTORY_SHOWN), [e.session_id]);
  if (h === null) {
    return <div className={HISTORY_CLASS}>{t.__('Loading…')}</div>;
  }
  if (h.executions.length === 0) {
    return <div className={HISTORY_CLASS}>{t.__('It ran nothing.')}</div>;
  }
  return (
    <div className={HISTORY_CLASS}>
      <div className="jp-ActiveSessions-entryHeader">{t.__('What it last ran')}</div>
      <ExecutionList executions={h.executions} notebookPath={e.notebook_path} open={props.open} />
    </div>
  );
}

/** An end opened: where it faulted, whole, and the jump to that cell; what
 * the process wrote last; what the kernel last ran. */
function EndDetails(props: {
  e: IKernelEnd;
  history: (id: string, limit: number) => Promise<IHistory>;
  open: (path: string, cellId?: string | null) => void;
}): JSX.Element {
  const { e, open } = props;
  const t = useTranslate();
  const detail = reasonDetail(e.reason, e.last_words, t);
  const cell = endCell(e);
  return (
    <div className="jp-ActiveSessions-endedDetails" id={`jp-ActiveSessions-end-${e.key}`}>
      {detail && <div className="jp-ActiveSessions-faultLine">{detail}</div>}
      {cell && (
        <button
          type="button"
          className="jp-ActiveSessions-link"
          onClick={() => open(cell.path, cell.cellId)}
        >
          {t.__('Go to cell')}
        </button>
      )}
      <LastWords words={e.last_words} />
      <EndedHistory e={e} history={props.history} open={open} />
    </div>
  );
}

export function RecentlyEnded(props: {
  ends: readonly IKernelEnd[];
  history: (id: string, limit: number) => Promise<IHistory>;
  open: (path: string, cellId?: string | null) => void;
  /** An end to show opened (a notification's "Show details"); `n` counts
   * the asks, so that the same end can be asked for again. */
  reveal: { key: string; n: number } | null;
}): JSX.Element | null {
  const { ends, reveal } = props;
  const t = useTranslate();
  const [shown, setShown] = React.useState<string | null>(null);
  const [open, setOpen] = React.useState(false);
  const list = React.useRef<HTMLUListElement>(null);
  React.useEffect(() => {
    if (reveal) {
      setOpen(true);
      setShown(reveal.key);
    }
  }, [reveal]);
  // Once per ask, as soon as the end is listed (the list may bring it a
  // moment after the notification): scrolled to, its toggle focused.
  const revealed = React.useRef(0);
  React.useEffect(() => {
    if (!reveal || revealed.current === reveal.n || !open || shown !== reveal.key) {
      return; // (the row of a closed <details> can take no focus)
    }
    const row = Array.from(
      list.current?.querySelectorAll<HTMLElement>('.jp-ActiveSessions-endedRow') ?? []
    ).find(r => r.dataset.endKey === reveal.key);
    if (!row) {
      return;
    }
    revealed.current = reveal.n;
    row.scrollIntoView({ block: 'center' });
    row.querySelector<HTMLElement>('.jp-ActiveSessions-endedToggle')?.focus();
  });
  if (ends.length === 0) {
    return null;
  }
  const now = Date.now();
  return (
    <details
      className="jp-ActiveSessions-ended"
      open={open}
      onToggle={e => setOpen(e.currentTarget.open)}
    >
      <summary>{t.__('Recently ended (%1)', ends.length)}</summary>
      <ul ref={list}>
        {ends.map(e => {
          const expanded = shown === e.key;
          const detail = reasonDetail(e.reason, e.last_words, t);
          const reason = endReason(e, t);
          return (
            <li
              key={e.key}
              className={`jp-ActiveSessions-endedRow jp-mod-${e.reason}${
                e.restarted ? ' jp-mod-restarted' : ''
              }${expanded ? ' jp-mod-expanded' : ''}`}
              data-session-id={e.session_id}
              data-end-key={e.key}
            >
              <div className="jp-ActiveSessions-endedHead">
                <button
                  type="button"
                  className="jp-ActiveSessions-endedToggle"
                  aria-expanded={expanded}
                  aria-controls={expanded ? `jp-ActiveSessions-end-${e.key}` : undefined}
                  title={t.__('How it ended, and what it last ran')}
                  onClick={() => setShown(expanded ? null : e.key)}
                >
                  <span className="jp-ActiveSessions-title">{rowTitle(e)}</span>
                  <span className="jp-ActiveSessions-reason" title={reason}>
                    {reason}
                  </span>
                  <span className="jp-ActiveSessions-when" title={formatDateTime(e.ended, t)}>
                    {formatRelative(e.ended, now, t)}
                  </span>
                </button>
                {e.notebook_path && !e.restarted && (
                  <button
                    type="button"
                    className="jp-ActiveSessions-link"
                    title={t.__('Open %1 again', e.notebook_path)}
                    onClick={() => props.open(e.notebook_path!)}
                  >
                    {t.__('reopen')}
                  </button>
                )}
              </div>
              {detail && !expanded && (
                <div className="jp-ActiveSessions-faultLine jp-mod-collapsed" title={detail}>
                  {detail}
                </div>
              )}
              {expanded && <EndDetails e={e} history={props.history} open={props.open} />}
            </li>
          );
        })}
      </ul>
    </details>
  );
}
