/**
 * The panel's header: counts per status, memory and CPU of all kernels, the
 * filter box, the sort choice and the bulk actions.
 */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { confirmShutdown, confirmShutdownIdle, run } from './actions';
import { MemoryMeter } from './memory';
import { ActiveSessionsModel } from './model';
import { SORT_KEYS, SORT_LABELS, SortKey, statusCounts, totals } from './sessions';
import { IActiveSession } from './types';

export interface IHeaderProps {
  model: ActiveSessionsModel;
  sessions: readonly IActiveSession[];
  selected: readonly IActiveSession[];
  filter: string;
  sortBy: SortKey;
  idleChoices: number[];
  onFilter: (filter: string) => void;
  onSort: (key: SortKey) => void;
  onSelectAll: (selected: boolean) => void;
}

export function Header(props: IHeaderProps): JSX.Element {
  const { model, sessions, selected } = props;
  const sum = totals(sessions);
  // Nothing is shown as 0 before it was measured.
  const measured = sessions.some(s => s.resource_usage !== null);
  const busy = sessions.filter(s => s.status === 'busy').length;
  const allSelected = sessions.length > 0 && selected.length === sessions.length;
  return (
    <div className="jp-ActiveSessions-header">
      <div className="jp-ActiveSessions-titleBar">
        <h2>Active Sessions</h2>
        <button
          className="jp-ActiveSessions-action"
          aria-label="Refresh"
          title="Refresh"
          onClick={() => void model.refresh()}
        >
          <refreshIcon.react tag="span" elementSize="small" />
        </button>
      </div>
      <div className="jp-ActiveSessions-summary" aria-live="polite">
        <span className="jp-ActiveSessions-counts">
          {sessions.length ? statusCounts(sessions) : 'no kernels'}
        </span>
        <span className="jp-ActiveSessions-totals">
          <MemoryMeter memory={model.memory} />
          <span title="CPU of all kernels and their children">
            {measured ? `${Math.round(sum.cpu)}% CPU` : '— CPU'}
          </span>
        </span>
      </div>
      <div className="jp-ActiveSessions-controls">
        <input
          className="jp-ActiveSessions-filter"
          type="search"
          placeholder="Filter: notebook, name, user, code…"
          aria-label="Filter kernels"
          value={props.filter}
          onChange={e => props.onFilter(e.target.value)}
        />
        <select
          className="jp-ActiveSessions-sort"
          aria-label="Sort by"
          title="Sort by"
          value={props.sortBy}
          onChange={e => props.onSort(e.target.value as SortKey)}
        >
          {SORT_KEYS.map(k => (
            <option key={k} value={k}>
              {SORT_LABELS[k]}
            </option>
          ))}
        </select>
      </div>
      <div className="jp-ActiveSessions-bulk">
        <input
          type="checkbox"
          aria-label="Select all shown"
          title="Select all shown"
          checked={allSelected}
          onChange={e => props.onSelectAll(e.target.checked)}
        />
        {selected.length > 0 && (
          <button
            onClick={() => void confirmShutdown(model, selected)}
            title="Shut down the selected kernels"
          >
            Shut down {selected.length}
          </button>
        )}
        <button
          onClick={() => void confirmShutdownIdle(model, props.idleChoices)}
          title="Shut down kernels idle for more than a chosen time"
        >
          Shut down idle…
        </button>
        <button
          disabled={busy === 0}
          onClick={() => void run('interrupt', () => model.interruptAllBusy())}
          title="Interrupt every busy kernel"
        >
          Interrupt busy{busy ? ` (${busy})` : ''}
        </button>
      </div>
    </div>
  );
}
