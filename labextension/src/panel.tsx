/**
 * The "Active Sessions" sidebar: a header (header.tsx), one row per kernel
 * (row.tsx, expanding to details.tsx), and the recently ended kernels
 * (ended.tsx). Filtering and sorting are pure functions (sessions.ts); the
 * user's choices are kept in the extension's settings.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { Clock } from './clock';
import { RecentlyEnded } from './ended';
import { recentEnds } from './ends';
import { ITranslate } from './format';
import { Header } from './header';
import { ActiveSessionsModel } from './model';
import { SessionRow } from './row';
import { IRowContext } from './rowContext';
import { matches, SortKey, sortSessions } from './sessions';
import { TranslateContext } from './translate';

export interface IPanelSettings {
  codePreviewLines: number;
  showEnvironment: boolean;
  sortBy: SortKey;
  filter: string;
  cullWarningSeconds: number;
  idleShutdownChoices: number[];
}

export interface IPanelOptions {
  model: ActiveSessionsModel;
  clock: Clock;
  /** Open a notebook, at a cell when `cellId` is given. */
  open: (path: string, cellId?: string | null) => void;
  settings: () => IPanelSettings;
  /** Keep a choice the user made in the panel (sort, filter). */
  save: (key: 'sortBy' | 'filter', value: string) => void;
  /** A kernelspec's logo (JupyterLab's kernelspec manager knows them). */
  kernelLogo: (kernelName: string) => string | null;
  /** The user's language (ITranslator's bundle for our domain). */
  trans: ITranslate;
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

  /** Show an end under "Recently ended" opened (ends.ts's key). */
  showEnd(key: string): void {
    this._reveal = { key, n: (this._reveal?.n ?? 0) + 1 };
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.options.model.setVisible(true);
    this.options.clock.start(); // timers tick only while shown
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.options.model.setVisible(false);
    this.options.clock.stop();
  }

  render(): JSX.Element {
    return (
      <TranslateContext.Provider value={this.options.trans}>
        <PanelView {...this.options} settings={this.options.settings()} reveal={this._reveal} />
      </TranslateContext.Provider>
    );
  }

  private _reveal: { key: string; n: number } | null = null;
}

function useModelChanged(model: ActiveSessionsModel): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const onChange = () => setVersion(v => v + 1);
    model.changed.connect(onChange);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
}

function PanelView(
  props: Omit<IPanelOptions, 'settings'> & {
    settings: IPanelSettings;
    reveal: { key: string; n: number } | null;
  }
): JSX.Element {
  const { model, settings, trans: t } = props;
  useModelChanged(model);
  const [filter, setFilter] = React.useState(settings.filter);
  const [sortBy, setSortBy] = React.useState<SortKey>(settings.sortBy);
  const [expanded, setExpanded] = React.useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = React.useState<ReadonlySet<string>>(new Set());
  // Settings changed elsewhere (the Settings Editor) win; our own saves
  // coming back must not undo what was typed since.
  const saved = React.useRef({ filter: settings.filter, sortBy: settings.sortBy });
  React.useEffect(() => {
    if (settings.filter !== saved.current.filter) {
      saved.current.filter = settings.filter;
      setFilter(settings.filter);
    }
  }, [settings.filter]);
  React.useEffect(() => {
    if (settings.sortBy !== saved.current.sortBy) {
      saved.current.sortBy = settings.sortBy;
      setSortBy(settings.sortBy);
    }
  }, [settings.sortBy]);

  const onToggle = React.useCallback((id: string) => {
    setExpanded(old => {
      const next = new Set(old);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });
  }, []);
  const onSelect = React.useCallback((id: string, on: boolean) => {
    setSelected(old => {
      const next = new Set(old);
      if (on) {
        next.add(id);
      } else {
        next.delete(id);
      }
      return next;
    });
  }, []);
  const context: IRowContext = React.useMemo(
    () => ({
      model,
      clock: props.clock,
      open: props.open,
      codePreviewLines: settings.codePreviewLines,
      showEnvironment: settings.showEnvironment,
      cullWarningSeconds: settings.cullWarningSeconds,
      kernelLogo: props.kernelLogo
    }),
    [
      model,
      props.clock,
      props.open,
      settings.codePreviewLines,
      settings.showEnvironment,
      settings.cullWarningSeconds,
      props.kernelLogo
    ]
  );

  const shown = sortSessions(
    model.sessions.filter(s => matches(s, filter)),
    sortBy,
    id => model.fetchedAtOf(id)
  );
  const live = new Set(model.sessions.map(s => s.session_id));
  const chosen = shown.filter(s => selected.has(s.session_id));

  return (
    <div className="jp-ActiveSessions-body">
      <Header
        model={model}
        sessions={model.sessions}
        selected={chosen}
        filter={filter}
        sortBy={sortBy}
        idleChoices={settings.idleShutdownChoices}
        onFilter={value => {
          setFilter(value);
          saved.current.filter = value;
          props.save('filter', value);
        }}
        onSort={key => {
          setSortBy(key);
          saved.current.sortBy = key;
          props.save('sortBy', key);
        }}
        onSelectAll={on => setSelected(on ? new Set(shown.map(s => s.session_id)) : new Set())}
      />
      {model.error && <div className="jp-ActiveSessions-error">{model.error}</div>}
      {model.sessions.length === 0 ? (
        <div className="jp-ActiveSessions-empty">{t.__('No running kernels.')}</div>
      ) : shown.length === 0 ? (
        <div className="jp-ActiveSessions-empty">{t.__('No kernel matches “%1”.', filter)}</div>
      ) : (
        <ul className="jp-ActiveSessions-list" aria-label={t.__('Running kernels')}>
          {shown.map(s => (
            <SessionRow
              key={s.session_id}
              session={s}
              fetchedAt={model.fetchedAtOf(s.session_id)}
              expanded={expanded.has(s.session_id)}
              selected={selected.has(s.session_id) && live.has(s.session_id)}
              context={context}
              onToggle={onToggle}
              onSelect={onSelect}
            />
          ))}
        </ul>
      )}
      <RecentlyEnded
        ends={recentEnds(model.ended, model.sessions)}
        history={(id, limit) => model.history(id, limit)}
        open={props.open}
        reveal={props.reveal}
      />
    </div>
  );
}
