/**
 * "Recently ended": kernels that are gone and why (culled, killed, exited,
 * shut down by whom), collapsed by default, with a way back to the notebook.
 */
import * as React from 'react';

import { endedReason, formatRelative } from './format';
import { rowTitle } from './sessions';
import { IEndedSession } from './types';

export function RecentlyEnded(props: {
  ended: readonly IEndedSession[];
  open: (path: string) => void;
}): JSX.Element | null {
  const { ended } = props;
  if (ended.length === 0) {
    return null;
  }
  const now = Date.now();
  return (
    <details className="jp-ActiveSessions-ended">
      <summary>Recently ended ({ended.length})</summary>
      <ul>
        {ended.map(e => (
          <li
            key={e.session_id + e.ended}
            className={`jp-ActiveSessions-endedRow jp-mod-${e.reason}`}
            data-session-id={e.session_id}
          >
            <span className="jp-ActiveSessions-title">{rowTitle(e)}</span>
            <span className="jp-ActiveSessions-reason">{endedReason(e)}</span>
            <span className="jp-ActiveSessions-when" title={new Date(e.ended).toLocaleString()}>
              {formatRelative(e.ended, now)}
            </span>
            {e.notebook_path && (
              <button
                className="jp-ActiveSessions-link"
                title={`Open ${e.notebook_path} again`}
                onClick={() => props.open(e.notebook_path!)}
              >
                reopen
              </button>
            )}
          </li>
        ))}
      </ul>
    </details>
  );
}
