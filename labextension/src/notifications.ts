/**
 * Telling the user, wherever they are in JupyterLab: a long execution
 * finished (a JupyterLab notification with "Go to cell", fed by the server's
 * `execution_finished` events, so it works with the notebook closed); a
 * kernel died or never started (with "Show details" and "Go to cell", from
 * the ends the model lists); memory is nearly full. Optionally a desktop
 * notification too.
 */
import { Notification } from '@jupyterlab/apputils';

import { endCell, EndsSeen, recentEnds } from './ends';
import { endNotice, formatBytes, formatDuration, formatUsedOf, ITranslate, plain } from './format';
import { ActiveSessionsModel } from './model';
import { rowTitle } from './sessions';
import { IExecutionFinished, IMemoryWarning } from './types';

export interface INotifySettings {
  /** Executions that ran at least this long are announced; 0 turns it off. */
  notifyAfterSeconds: number;
  /** Kernels that die or fail to start are announced. */
  notifyKernelEnds: boolean;
  desktopNotifications: boolean;
}

/** A desktop notification, only while JupyterLab's tab is in the background
 * (in front, JupyterLab's own is seen) and the user allowed them. */
function desktop(title: string, body: string, tag: string, onClick: () => void): void {
  if (
    typeof window.Notification === 'undefined' ||
    window.Notification.permission !== 'granted' ||
    document.visibilityState === 'visible'
  ) {
    return;
  }
  const notification = new window.Notification(title, { body, tag });
  notification.onclick = () => {
    window.focus();
    onClick();
  };
}

export function describe(
  e: IExecutionFinished,
  t: ITranslate = plain
): { title: string; body: string } {
  const where = e.notebook_path?.split('/').pop() ?? t.__('kernel %1', e.session_id.slice(0, 8));
  const cell = e.execution_count !== null ? ` [${e.execution_count}]` : '';
  // Rounded, not cut like a ticking timer: 1.96 s ran "2s".
  const took = formatDuration(Math.round(e.duration_seconds), t);
  const body =
    e.status === 'ok'
      ? t.__('finished in %1', took)
      : e.status === 'error'
        ? t.__('failed (%1) after %2', e.error_name ?? t.__('error'), took)
        : t.__('was aborted after %1', took);
  return { title: `${where}${cell}`, body };
}

export function announceFinished(
  model: ActiveSessionsModel,
  settings: () => INotifySettings,
  open: (path: string, cellId?: string | null) => void,
  t: ITranslate = plain
): void {
  model.finished.connect((_, e) => {
    const { notifyAfterSeconds, desktopNotifications } = settings();
    if (notifyAfterSeconds <= 0 || e.duration_seconds < notifyAfterSeconds) {
      return;
    }
    const { title, body } = describe(e, t);
    const path = e.notebook_path;
    const actions = path
      ? [{ label: t.__('Go to cell'), callback: () => open(path, e.cell_id) }]
      : [];
    const options = { autoClose: e.status === 'ok' ? 15000 : (false as const), actions };
    const message = `${title} ${body}`;
    if (e.status === 'ok') {
      Notification.success(message, options);
    } else if (e.status === 'error') {
      Notification.error(message, options);
    } else {
      Notification.warning(message, options);
    }
    if (desktopNotifications) {
      desktop(title, body, e.msg_id, () => path && open(path, e.cell_id));
    }
  });
}

/**
 * A kernel of the user's died (a crash, a signal, the out-of-memory killer,
 * an exit with an error) or never started: a notification that stays until
 * dismissed, saying where it faulted, with "Show details" (the panel, that
 * end opened) and "Go to cell" (the cell that was running, when the server
 * knows it; the notification stays, for its details). Each end once, from
 * the lists the model fetches (ends.ts: EndsSeen), so it works whether the
 * server's events or the polls bring them.
 */
export function announceEnds(
  model: ActiveSessionsModel,
  settings: () => INotifySettings,
  actions: {
    showEnd: (key: string) => void;
    open: (path: string, cellId?: string | null) => void;
  },
  t: ITranslate = plain
): void {
  const seen = new EndsSeen();
  model.changed.connect(() => {
    const news = seen.news(recentEnds(model.ended, model.sessions), model.endedComplete);
    const { notifyKernelEnds, desktopNotifications } = settings();
    if (!notifyKernelEnds) {
      return;
    }
    for (const e of news) {
      const message = endNotice(e, rowTitle(e), t);
      const cell = endCell(e);
      const goToCell = () => cell && actions.open(cell.path, cell.cellId);
      const notificationActions: Notification.IAction[] = [
        {
          label: t.__('Show details'),
          caption: t.__('The Active Sessions panel, with how this kernel ended'),
          callback: () => actions.showEnd(e.key)
        }
      ];
      if (cell) {
        notificationActions.push({
          label: t.__('Go to cell'),
          caption: t.__('The cell that was running when it died'),
          callback: (event: MouseEvent) => {
            event.preventDefault(); // keep the notification: its details are still to see
            goToCell();
          }
        });
      }
      Notification.error(message, { autoClose: false, actions: notificationActions });
      if (desktopNotifications) {
        desktop(rowTitle(e), message, e.key, () => (cell ? goToCell() : actions.showEnd(e.key)));
      }
    }
  });
}

/** "Memory nearly full: 1.9 of 2.1 GB used … Largest: forecast.ipynb 1.2 GB, …". */
export function describeMemoryWarning(w: IMemoryWarning, t: ITranslate = plain): string {
  const largest = w.kernels
    .slice(0, 3)
    .map(k => `${shortName(k, t)} ${formatBytes(k.memory_bytes, t)}`)
    .join(', ');
  return (
    t.__('Memory nearly full: %1 used.', formatUsedOf(w.used_bytes, w.limit_bytes, t)) +
    ' ' +
    t.__('The out-of-memory killer ends kernels past the limit.') +
    (largest ? ' ' + t.__('Largest: %1.', largest) : '')
  );
}

function shortName(k: { session_id: string; notebook_path: string | null }, t: ITranslate): string {
  return k.notebook_path?.split('/').pop() ?? t.__('kernel %1', k.session_id.slice(0, 8));
}

/** The server's `memory_warning`: a notification that stays until dismissed,
 * with a one-click shut-down of the largest kernel that is idle when it is
 * clicked (the cell that filled memory is often still running as it warns). */
export function announceMemoryWarning(model: ActiveSessionsModel, t: ITranslate = plain): void {
  model.memoryWarning.connect((_, w) => {
    const shutDownLargestIdle = async () => {
      await model.refresh();
      const idle = model.sessions
        .filter(s => (s.status === 'idle' || s.status === 'ready') && s.resource_usage)
        .sort((a, b) => b.resource_usage!.memory_bytes - a.resource_usage!.memory_bytes)[0];
      if (!idle) {
        Notification.info(t.__('No kernel is idle: none was shut down.'), { autoClose: 5000 });
        return;
      }
      await model.shutdown(idle.session_id);
      Notification.info(
        t.__(
          'Shut down %1: %2 freed.',
          shortName(idle, t),
          formatBytes(idle.resource_usage!.memory_bytes, t)
        ),
        { autoClose: 8000 }
      );
    };
    Notification.warning(describeMemoryWarning(w, t), {
      autoClose: false,
      actions: [
        {
          label: t.__('Shut down the largest idle kernel'),
          callback: () => void shutDownLargestIdle()
        }
      ]
    });
  });
}

/** Ask the browser once the user turned desktop notifications on. */
export function askForDesktopPermission(): void {
  if (typeof window.Notification !== 'undefined' && window.Notification.permission === 'default') {
    void window.Notification.requestPermission();
  }
}
