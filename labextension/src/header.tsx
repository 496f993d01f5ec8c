/**
 * The panel's header: counts per status, memory and CPU of all kernels, the
 * filter box, the sort choice and the bulk actions.
 */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { confirmShutdown, confirmShutdownIdle, run } from './actions';
import { formatPercent } from './format';
import { MemoryMeter } from './memory';
import { ActiveSessionsModel } from './model';
import { SORT_KEYS, SORT_LABELS, SortKey, statusCounts, totals } from './sessions';
import { useTranslate } from './translate';
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
  const t = useTranslate();
  const sum = totals(sessions);
  // Nothing is shown as 0 before it was measured.
  const measured = sessions.some(s => s.resource_usage !== null);
  const busy = sessions.filter(s => s.status === 'busy').length;
  const allSelected = sessions.length > 0 && selected.length === sessions.length;
  return (
    <div className="jp-ActiveSessions-header">
      <div className="jp-ActiveSessions-titleBar">
        <h2>{t.__('Active Sessions')}</h2>
        <button
          className="jp-ActiveSessions-action"
          aria-label={t.__('Refresh')}
          title={t.__('Refresh')}
          onClick={() => void model.refresh()}
        >
          <refreshIcon.react tag="span" elementSize="small" />
        </button>
      </div>
      <div className="jp-ActiveSessions-summary" aria-live="polite">
        <span className="jp-ActiveSessions-counts">
          {sessions.length ? statusCounts(sessions, t) : t.__('no kernels')}
        </span>
        <span className="jp-ActiveSessions-totals">
          <MemoryMeter memory={model.memory} />
          <span title={t.__('CPU of all kernels and their children')}>
            {measured ? t.__('%1 CPU', formatPercent(sum.cpu, t)) : t.__('— CPU')}
          </span>
        </span>
      </div>
      <div className="jp-ActiveSessions-controls">
        <input
          className="jp-ActiveSessions-filter"
          type="search"
          placeholder={t.__('Filter: notebook, name, user, code…')}
          aria-label={t.__('Filter kernels')}
          value={props.filter}
          onChange={e => props.onFilter(e.target.value)}
        />
        <select
          className="jp-ActiveSessions-sort"
          aria-label={t.__('Sort by')}
          title={t.__('Sort by')}
          value={props.sortBy}
          onChange={e => props.onSort(e.target.value as SortKey)}
        >
          {SORT_KEYS.map(k => (
            <option key={k} value={k}>
              {t.__(SORT_LABELS[k])}
            </option>
          ))}
        </select>
      </div>
      <div className="jp-ActiveSessions-bulk">
        <input
          type="checkbox"
          aria-label={t.__('Select all shown')}
          title={t.__('Select all shown')}
          checked={allSelected}
          onChange={e => props.onSelectAll(e.target.checked)}
        />
        {selected.length > 0 && (
          <button
            onClick={() => void confirmShutdown(model, selected, t)}
            title={t.__('Shut down the selected kernels')}
          >
            {t._n('Shut down %1', 'Shut down %1', selected.length)}
          </button>
        )}
        <button
          onClick={() => void confirmShutdownIdle(model, props.idleChoices, t)}
          title={t.__('Shut down kernels idle for more than a chosen time')}
        >
          {t.__('Shut down idle…')}
        </button>
        <button
          disabled={busy === 0}
          onClick={() => void run(t.__('Could not interrupt'), () => model.interruptAllBusy())}
          title={t.__('Interrupt every busy kernel')}
        >
          {busy ? t.__('Interrupt busy (%1)', busy) : t.__('Interrupt busy')}
        </button>
      </div>
    </div>
  );
}
