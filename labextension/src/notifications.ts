/**
 * Telling the user a long execution finished, wherever they are in
 * JupyterLab: a JupyterLab notification with "Go to cell", and optionally a
 * desktop notification. Fed by the server's `execution_finished` events
 * (model.finished), so it works with the notebook closed.
 */
import { Notification } from '@jupyterlab/apputils';

import { formatBytes, formatDuration, formatUsedOf } from './format';
import { ActiveSessionsModel } from './model';
import { IExecutionFinished, IMemoryWarning } from './types';

export interface INotifySettings {
  /** Executions that ran at least this long are announced; 0 turns it off. */
  notifyAfterSeconds: number;
  desktopNotifications: boolean;
}

export function describe(e: IExecutionFinished): { title: string; body: string } {
  const where = e.notebook_path?.split('/').pop() ?? `kernel ${e.session_id.slice(0, 8)}`;
  const cell = e.execution_count !== null ? ` [${e.execution_count}]` : '';
  // Rounded, not cut like a ticking timer: 1.96 s ran "2s".
  const took = formatDuration(Math.round(e.duration_seconds));
  const body =
    e.status === 'ok'
      ? `finished in ${took}`
      : e.status === 'error'
        ? `failed (${e.error_name ?? 'error'}) after ${took}`
        : `was aborted after ${took}`;
  return { title: `${where}${cell}`, body };
}

export function announceFinished(
  model: ActiveSessionsModel,
  settings: () => INotifySettings,
  open: (path: string, cellId?: string | null) => void
): void {
  model.finished.connect((_, e) => {
    const { notifyAfterSeconds, desktopNotifications } = settings();
    if (notifyAfterSeconds <= 0 || e.duration_seconds < notifyAfterSeconds) {
      return;
    }
    const { title, body } = describe(e);
    const path = e.notebook_path;
    const actions = path ? [{ label: 'Go to cell', callback: () => open(path, e.cell_id) }] : [];
    const options = { autoClose: e.status === 'ok' ? 15000 : (false as const), actions };
    const message = `${title} ${body}`;
    if (e.status === 'ok') {
      Notification.success(message, options);
    } else if (e.status === 'error') {
      Notification.error(message, options);
    } else {
      Notification.warning(message, options);
    }
    if (
      desktopNotifications &&
      typeof window.Notification !== 'undefined' &&
      window.Notification.permission === 'granted' &&
      document.visibilityState !== 'visible'
    ) {
      // Only when JupyterLab's tab is in the background: in front, the
      // notification above is seen.
      const desktop = new window.Notification(title, { body, tag: e.msg_id });
      desktop.onclick = () => {
        window.focus();
        if (path) {
          open(path, e.cell_id);
        }
      };
    }
  });
}

/** "Memory nearly full: 1.9 of 2.1 GB used … Largest: forecast.ipynb 1.2 GB, …". */
export function describeMemoryWarning(w: IMemoryWarning): string {
  const largest = w.kernels
    .slice(0, 3)
    .map(k => `${shortName(k)} ${formatBytes(k.memory_bytes)}`)
    .join(', ');
  return (
    `Memory nearly full: ${formatUsedOf(w.used_bytes, w.limit_bytes)} used. ` +
    'The out-of-memory killer ends kernels past the limit.' +
    (largest ? ` Largest: ${largest}.` : '')
  );
}

function shortName(k: { session_id: string; notebook_path: string | null }): string {
  return k.notebook_path?.split('/').pop() ?? `kernel ${k.session_id.slice(0, 8)}`;
}

/** The server's `memory_warning`: a notification that stays until dismissed,
 * with a one-click shut-down of the largest kernel that is idle when it is
 * clicked (the cell that filled memory is often still running as it warns). */
export function announceMemoryWarning(model: ActiveSessionsModel): void {
  model.memoryWarning.connect((_, w) => {
    const shutDownLargestIdle = async () => {
      await model.refresh();
      const idle = model.sessions
        .filter(s => (s.status === 'idle' || s.status === 'ready') && s.resource_usage)
        .sort((a, b) => b.resource_usage!.memory_bytes - a.resource_usage!.memory_bytes)[0];
      if (!idle) {
        Notification.info('No kernel is idle: none was shut down.', { autoClose: 5000 });
        return;
      }
      await model.shutdown(idle.session_id);
      Notification.info(
        `Shut down ${shortName(idle)}: ${formatBytes(idle.resource_usage!.memory_bytes)} freed.`,
        { autoClose: 8000 }
      );
    };
    Notification.warning(describeMemoryWarning(w), {
      autoClose: false,
      actions: [
        { label: 'Shut down the largest idle kernel', callback: () => void shutDownLargestIdle() }
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
