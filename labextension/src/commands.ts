/** The extension's commands, in the palette under "Kernel". */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { confirmShutdownIdle } from './actions';
import { ActiveSessionsModel } from './model';

export const CommandIDs = {
  open: 'active-sessions:open',
  interruptAll: 'active-sessions:interrupt-all-busy',
  shutdownIdle: 'active-sessions:shutdown-idle',
  refresh: 'active-sessions:refresh'
};

export function addCommands(
  app: JupyterFrontEnd,
  palette: ICommandPalette | null,
  model: ActiveSessionsModel,
  options: { icon: LabIcon; openPanel: () => void; idleShutdownChoices: () => number[] }
): void {
  app.commands.addCommand(CommandIDs.open, {
    label: 'Active Sessions: Open Panel',
    icon: options.icon,
    execute: options.openPanel
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: 'Active Sessions: Refresh',
    execute: () => model.refresh()
  });
  app.commands.addCommand(CommandIDs.shutdownIdle, {
    label: 'Active Sessions: Shut Down Idle Kernels…',
    execute: () => confirmShutdownIdle(model, options.idleShutdownChoices())
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
}
