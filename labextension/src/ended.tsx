/**
 * "Recently ended": kernels that are gone and why (culled, killed, exited,
 * shut down by whom, or with a server that stopped or was lost), collapsed
 * by default, with a way back to the notebook. A click on a kernel shows
 * what it last ran; the server keeps that across its restarts.
 */
import * as React from 'react';

import { endedReason, formatDateTime, formatRelative } from './format';
import { ExecutionList, useHistory } from './history';
import { rowTitle } from './sessions';
import { useTranslate } from './translate';
import { IEndedSession, IHistory } from './types';

// Executions shown for an ended kernel.
const ENDED_HISTORY_SHOWN = 5;

function EndedHistory(props: {
  e: IEndedSession;
  history: (id: string, limit: number) => Promise<IHistory>;
  open: (path: string, cellId?: string | null) => void;
}): JSX.Element {
  const { e } = props;
  const t = useTranslate();
  const h = useHistory(() => props.history(e.session_id, ENDED_HISTORY_SHOWN), [e.session_id]);
  let body: JSX.Element | string;
  if (h === null) {
    body = t.__('Loading…');
  } else if (h.executions.length === 0) {
    body = t.__('It ran nothing.');
  } else {
    body = (
      <ExecutionList executions={h.executions} notebookPath={e.notebook_path} open={props.open} />
    );
  }
  return <li className="jp-ActiveSessions-history jp-ActiveSessions-endedHistory">{body}</li>;
}

export function RecentlyEnded(props: {
  ended: readonly IEndedSession[];
  history: (id: string, limit: number) => Promise<IHistory>;
  open: (path: string, cellId?: string | null) => void;
}): JSX.Element | null {
  const { ended } = props;
  const t = useTranslate();
  const [shown, setShown] = React.useState<string | null>(null);
  if (ended.length === 0) {
    return null;
  }
  const now = Date.now();
  return (
    <details className="jp-ActiveSessions-ended">
      <summary>{t.__('Recently ended (%1)', ended.length)}</summary>
      <ul>
        {ended.map(e => (
          <React.Fragment key={e.session_id + e.ended}>
            <li
              className={`jp-ActiveSessions-endedRow jp-mod-${e.reason}`}
              data-session-id={e.session_id}
              aria-expanded={shown === e.session_id}
              title={t.__('What it last ran')}
              onClick={() => setShown(shown === e.session_id ? null : e.session_id)}
            >
              <span className="jp-ActiveSessions-title">{rowTitle(e)}</span>
              <span className="jp-ActiveSessions-reason" title={endedReason(e, t)}>
                {endedReason(e, t)}
              </span>
              <span className="jp-ActiveSessions-when" title={formatDateTime(e.ended, t)}>
                {formatRelative(e.ended, now, t)}
              </span>
              {e.notebook_path && (
                <button
                  className="jp-ActiveSessions-link"
                  title={t.__('Open %1 again', e.notebook_path)}
                  onClick={event => {
                    event.stopPropagation();
                    props.open(e.notebook_path!);
                  }}
                >
                  {t.__('reopen')}
                </button>
              )}
            </li>
            {shown === e.session_id && (
              <EndedHistory e={e} history={props.history} open={props.open} />
            )}
          </React.Fragment>
        ))}
      </ul>
    </details>
  );
}
