import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showDialog, Dialog } from '@jupyterlab/apputils';

import { requestAPI } from './handler';

/** The server-wide figures of `GET api/active-sessions/status`. */
interface IServerStatus {
  sessions: number;
  active: number;
  busy: boolean;
  idle_seconds: number;
  busy_seconds: number;
  uptime_seconds: number;
  version: string;
}

const COMMAND_SUMMARY = 'active-sessions:summary';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-session-ext:plugin',
  description: 'Active sessions of every running kernel.',
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null) => {
    app.commands.addCommand(COMMAND_SUMMARY, {
      label: 'Active Sessions: Server Summary',
      execute: async () => {
        const s = await requestAPI<IServerStatus>('status');
        const state = s.busy
          ? `busy for ${s.busy_seconds}s`
          : `idle for ${s.idle_seconds}s`;
        await showDialog({
          title: 'Active Sessions',
          body: `${s.active} of ${s.sessions} kernels running; ${state}.`,
          buttons: [Dialog.okButton()]
        });
      }
    });
    palette?.addItem({ command: COMMAND_SUMMARY, category: 'Kernel' });
  }
};

export default plugin;
