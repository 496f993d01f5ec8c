/**
 * What a kernel ran: its last finished executions, newest first, each going
 * to its cell on a click. Shown in an expanded row, and under "Recently
 * ended" for a kernel that is gone (the server keeps its history while it
 * keeps its record, across its own restarts).
 */
import * as React from 'react';

import { codePreview, formatDuration, HIDDEN_WHY, memoryCost } from './format';
import { useTranslate } from './translate';
import { IFinishedExecution, IHistory } from './types';

/** The kernel's history, fetched now and again whenever `deps` change;
 * null while it loads (an empty list when it cannot be had). */
export function useHistory(
  fetch: () => Promise<IHistory>,
  deps: React.DependencyList
): IHistory | null {
  const [history, setHistory] = React.useState<IHistory | null>(null);
  React.useEffect(() => {
    let live = true;
    fetch()
      .then(h => live && setHistory(h))
      .catch(() => live && setHistory({ total: 0, executions: [] }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return history;
}

export function ExecutionList(props: {
  executions: readonly IFinishedExecution[];
  notebookPath: string | null;
  open: (path: string, cellId?: string | null) => void;
}): JSX.Element {
  const { notebookPath, open } = props;
  const t = useTranslate();
  return (
    <ol>
      {props.executions.map(e => {
        const cost = memoryCost(e, t);
        return (
          <li
            key={e.msg_id}
            className={`jp-mod-${e.status}`}
            title={
              notebookPath && e.cell_id ? t.__('Go to this cell') : (e.code ?? t.__(HIDDEN_WHY))
            }
            onClick={() => notebookPath && open(notebookPath, e.cell_id)}
          >
            <span className="jp-ActiveSessions-historyCount">[{e.execution_count ?? ' '}]</span>
            <span className="jp-ActiveSessions-historyStatus">
              {e.status === 'error' ? (e.error_name ?? t.__('error')) : t.__(e.status)}
            </span>
            <span className="jp-ActiveSessions-historyTook">
              {e.duration_seconds < 1
                ? '<' + formatDuration(1, t)
                : formatDuration(e.duration_seconds, t)}
            </span>
            {cost && (
              <span className="jp-ActiveSessions-historyMemory" title={cost.title}>
                {cost.text}
              </span>
            )}
            <code>{codePreview(e.code, 1, e.code_truncated, t)}</code>
          </li>
        );
      })}
    </ol>
  );
}
