import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  ISessionContext,
  showDialog
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { confirmShutdownIdle } from './actions';
import { Clock } from './clock';
import { ActiveSessionsModel } from './model';
import { openCell, openNotebook } from './navigation';
import { announceFinished, askForDesktopPermission } from './notifications';
import { ActiveSessionsPanel, IPanelSettings } from './panel';
import { SessionStatusItem } from './statusbar';

const PLUGIN_ID = 'jupyter-session-ext:plugin';

export const CommandIDs = {
  open: 'active-sessions:open',
  interruptAll: 'active-sessions:interrupt-all-busy',
  shutdownIdle: 'active-sessions:shutdown-idle',
  refresh: 'active-sessions:refresh'
};

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

interface ISettings extends IPanelSettings {
  refreshInterval: number;
  notifyAfterSeconds: number;
  desktopNotifications: boolean;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Active sessions of every running kernel: a sidebar panel and a status bar item.',
  autoStart: true,
  optional: [
    ILabShell,
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry,
    IStatusBar
  ],
  activate: async (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ) => {
    // The schema's defaults (schema/plugin.json), until the settings load.
    const settings: ISettings = {
      refreshInterval: 5,
      codePreviewLines: 3,
      showEnvironment: true,
      sortBy: 'status',
      filter: '',
      cullWarningSeconds: 600,
      idleShutdownChoices: [300, 1800, 3600, 14400, 86400],
      notifyAfterSeconds: 60,
      desktopNotifications: false
    };
    const clock = new Clock();
    const open = (path: string, cellId?: string | null) =>
      void (cellId ? openCell(app, path, cellId) : openNotebook(app, path));
    let saveSetting: (key: 'sortBy' | 'filter', value: string) => void = () => undefined;
    const model = new ActiveSessionsModel({
      events: app.serviceManager.events ?? null,
      sessions: app.serviceManager.sessions,
      refreshInterval: settings.refreshInterval
    });

    const panel = new ActiveSessionsPanel({
      model,
      clock,
      open,
      settings: () => settings,
      save: (key, value) => saveSetting(key, value)
    });
    announceFinished(model, () => settings, open);
    panel.id = 'jp-active-sessions';
    panel.title.icon = sessionsIcon;
    panel.title.caption = 'Active Sessions';
    app.shell.add(panel, 'left', { rank: 250 });
    restorer?.add(panel, 'active-sessions');

    if (settingRegistry) {
      try {
        const loaded = await settingRegistry.load(PLUGIN_ID);
        const apply = () => {
          const wasDesktop = settings.desktopNotifications;
          Object.assign(settings, loaded.composite as unknown as ISettings);
          model.refreshInterval = settings.refreshInterval;
          if (settings.desktopNotifications && !wasDesktop) {
            askForDesktopPermission();
          }
          panel.refresh();
        };
        apply();
        loaded.changed.connect(apply);
        // Typing in the filter saves once the user pauses.
        let pending = 0;
        saveSetting = (key, value) => {
          window.clearTimeout(pending);
          pending = window.setTimeout(
            () =>
              void loaded.set(key, value).catch(error =>
                console.warn('Active Sessions: setting not saved', error)
              ),
            key === 'filter' ? 500 : 0
          );
        };
      } catch (error) {
        console.warn('Active Sessions: settings not loaded', error);
      }
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'Active Sessions: Open Panel',
      icon: sessionsIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Active Sessions: Refresh',
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIDs.shutdownIdle, {
      label: 'Active Sessions: Shut Down Idle Kernels…',
      execute: () => confirmShutdownIdle(model, settings.idleShutdownChoices)
    });
    app.commands.addCommand(CommandIDs.interruptAll, {
      label: 'Active Sessions: Interrupt All Busy Kernels',
      execute: async () => {
        const count = await model.interruptAllBusy();
        await showDialog({
          title: 'Active Sessions',
          body: `Interrupted ${count} busy kernel${count === 1 ? '' : 's'}.`,
          buttons: [Dialog.okButton()]
        });
      }
    });
    for (const command of Object.values(CommandIDs)) {
      palette?.addItem({ command, category: 'Kernel' });
    }

    if (statusBar) {
      const item = new SessionStatusItem(model, clock, () =>
        app.shell.activateById(panel.id)
      );
      statusBar.registerStatusItem('jupyter-session-ext:status', {
        item,
        align: 'left',
        rank: 4,
        isActive: () => true
      });
      // Follow the kernel of the document in front (a notebook or console:
      // any widget with a sessionContext).
      let followed: ISessionContext | null = null;
      const follow = () => {
        const current = app.shell.currentWidget as
          | (Widget & { sessionContext?: ISessionContext })
          | null;
        const context = current?.sessionContext ?? null;
        if (context !== followed) {
          followed?.kernelChanged.disconnect(follow);
          context?.kernelChanged.connect(follow);
          followed = context;
        }
        item.kernelId = context?.session?.kernel?.id ?? null;
      };
      labShell?.currentChanged.connect(follow);
      follow();
    }
    void model.refresh();
  }
};

export default plugin;
