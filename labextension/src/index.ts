/**
 * The JupyterLab plugins. The first: the "Active Sessions" sidebar panel
 * (panel.tsx), its commands (commands.ts) and the notifications of long
 * cells that finished and of kernels that died (notifications.ts), over one model of the server's
 * active sessions (model.ts), with the user's settings (settings.ts); it
 * provides that model to other extensions as `IActiveSessions` (tokens.ts).
 * The second, the status bar item (statusbar.tsx), uses that token alone.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { addCommands } from './commands';
import { Clock } from './clock';
import { ActiveSessionsModel } from './model';
import { openCell, openNotebook } from './navigation';
import {
  announceEnds,
  announceFinished,
  announceMemoryWarning,
  askForDesktopPermission
} from './notifications';
import { ActiveSessionsPanel } from './panel';
import { loadSettings, PLUGIN_ID } from './settings';
import { addStatusItem } from './statusbar';
import { IActiveSessions } from './tokens';
import { loadTranslate } from './translate';

export { CommandIDs } from './commands';
export { IActiveSessions } from './tokens';
export type {
  IActiveSession,
  IEndedSession,
  IExecutionFinished,
  IMemoryStatus,
  IMemoryWarning
} from './types';

const PANEL_ID = 'jp-active-sessions';

/** A clock face: sessions and how long they have run. */
const sessionsIcon = new LabIcon({
  name: 'jupyter-session-ext:sessions',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path d="M12 3a9 9 0 1 0 9 9 9 9 0 0 0-9-9zm0 16a7 7 0 1 1 7-7 7 7 0 0 1-7 7z"/>' +
    '<path d="M12.5 7h-1.5v5.6l4.4 2.7.8-1.3-3.7-2.2z"/>' +
    '</g></svg>'
});

const plugin: JupyterFrontEndPlugin<IActiveSessions> = {
  id: PLUGIN_ID,
  description:
    'Active sessions of every running kernel: a sidebar panel, and the model for others.',
  autoStart: true,
  provides: IActiveSessions,
  // The settings' defaults are the schema's (schema/plugin.json): the registry gives them.
  requires: [ISettingRegistry],
  optional: [ILayoutRestorer, ICommandPalette, ITranslator],
  activate: async (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): Promise<IActiveSessions> => {
    const trans = loadTranslate(translator ?? nullTranslator);
    const settings = await loadSettings(settingRegistry);
    const clock = new Clock();
    const open = (path: string, cellId?: string | null) =>
      void (cellId ? openCell(app, path, cellId) : openNotebook(app, path));
    const model = new ActiveSessionsModel({
      events: app.serviceManager.events ?? null,
      sessions: app.serviceManager.sessions,
      refreshInterval: settings.values.refreshInterval
    });
    // The logo JupyterLab's launcher shows for a kernelspec (its URL on the server).
    const kernelLogo = (name: string): string | null => {
      const resources = app.serviceManager.kernelspecs.specs?.kernelspecs[name]?.resources;
      return (
        resources?.['logo-svg'] ?? resources?.['logo-64x64'] ?? resources?.['logo-32x32'] ?? null
      );
    };
    const panel = new ActiveSessionsPanel({
      model,
      clock,
      open,
      settings: () => settings.values,
      save: settings.save,
      kernelLogo,
      trans
    });
    panel.id = PANEL_ID;
    panel.title.icon = sessionsIcon;
    panel.title.caption = trans.__('Active Sessions');
    app.shell.add(panel, 'left', { rank: 250 });
    restorer?.add(panel, 'active-sessions');
    const openPanel = () => app.shell.activateById(panel.id);

    announceFinished(model, () => settings.values, open, trans);
    announceEnds(
      model,
      () => settings.values,
      {
        showEnd: key => {
          openPanel();
          panel.showEnd(key);
        },
        open
      },
      trans
    );
    announceMemoryWarning(model, trans);
    if (settings.values.desktopNotifications) {
      askForDesktopPermission();
    }
    settings.onChange(previous => {
      model.refreshInterval = settings.values.refreshInterval;
      if (settings.values.desktopNotifications && !previous.desktopNotifications) {
        askForDesktopPermission();
      }
      panel.refresh();
    });
    addCommands(
      app,
      palette,
      model,
      {
        icon: sessionsIcon,
        openPanel,
        idleShutdownChoices: () => settings.values.idleShutdownChoices
      },
      trans
    );
    void model.refresh();
    return model;
  }
};

const statusBarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-session-ext:status-bar',
  description: "The current notebook's or console's kernel in the status bar.",
  autoStart: true,
  requires: [IActiveSessions, IStatusBar],
  optional: [ILabShell, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    sessions: IActiveSessions,
    statusBar: IStatusBar,
    labShell: ILabShell | null,
    translator: ITranslator | null
  ) => {
    addStatusItem(
      app,
      statusBar,
      labShell,
      sessions,
      new Clock(),
      () => app.shell.activateById(PANEL_ID),
      loadTranslate(translator ?? nullTranslator)
    );
  }
};

export default [plugin, statusBarPlugin];
