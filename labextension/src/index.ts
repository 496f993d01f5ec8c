/**
 * The JupyterLab plugin: the "Active Sessions" sidebar panel (panel.tsx),
 * its commands (commands.ts), the status bar item (statusbar.tsx) and the
 * notifications of long cells that finished (notifications.ts), over one
 * model of the server's active sessions (model.ts), with the user's settings
 * (settings.ts).
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
import { LabIcon } from '@jupyterlab/ui-components';

import { addCommands } from './commands';
import { Clock } from './clock';
import { ActiveSessionsModel } from './model';
import { openCell, openNotebook } from './navigation';
import { announceFinished, announceMemoryWarning, askForDesktopPermission } from './notifications';
import { ActiveSessionsPanel } from './panel';
import { loadSettings, PLUGIN_ID } from './settings';
import { addStatusItem } from './statusbar';

export { CommandIDs } from './commands';

/** A gauge: sessions and how long they have run. */
const sessionsIcon = new LabIcon({
  name: 'jupyter-session-ext:sessions',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path d="M12 3a9 9 0 1 0 9 9 9 9 0 0 0-9-9zm0 16a7 7 0 1 1 7-7 7 7 0 0 1-7 7z"/>' +
    '<path d="M12.5 7h-1.5v5.6l4.4 2.7.8-1.3-3.7-2.2z"/>' +
    '</g></svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Active sessions of every running kernel: a sidebar panel and a status bar item.',
  autoStart: true,
  // The settings' defaults are the schema's (schema/plugin.json): the registry gives them.
  requires: [ISettingRegistry],
  optional: [ILabShell, ILayoutRestorer, ICommandPalette, IStatusBar],
  activate: async (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null
  ) => {
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
      kernelLogo
    });
    panel.id = 'jp-active-sessions';
    panel.title.icon = sessionsIcon;
    panel.title.caption = 'Active Sessions';
    app.shell.add(panel, 'left', { rank: 250 });
    restorer?.add(panel, 'active-sessions');
    const openPanel = () => app.shell.activateById(panel.id);

    announceFinished(model, () => settings.values, open);
    announceMemoryWarning(model);
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
    addCommands(app, palette, model, {
      icon: sessionsIcon,
      openPanel,
      idleShutdownChoices: () => settings.values.idleShutdownChoices
    });
    if (statusBar) {
      addStatusItem(app, statusBar, labShell, model, clock, openPanel);
    }
    void model.refresh();
  }
};

export default plugin;
