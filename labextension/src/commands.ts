/** The extension's commands, in the palette under "Kernel". */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { confirmShutdownIdle } from './actions';
import { ITranslate } from './format';
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
  options: { icon: LabIcon; openPanel: () => void; idleShutdownChoices: () => number[] },
  t: ITranslate
): void {
  app.commands.addCommand(CommandIDs.open, {
    label: t.__('Active Sessions: Open Panel'),
    icon: options.icon,
    execute: options.openPanel
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: t.__('Active Sessions: Refresh'),
    execute: () => model.refresh()
  });
  app.commands.addCommand(CommandIDs.shutdownIdle, {
    label: t.__('Active Sessions: Shut Down Idle Kernels…'),
    execute: () => confirmShutdownIdle(model, options.idleShutdownChoices(), t)
  });
  app.commands.addCommand(CommandIDs.interruptAll, {
    label: t.__('Active Sessions: Interrupt All Busy Kernels'),
    execute: async () => {
      const count = await model.interruptAllBusy();
      await showDialog({
        title: t.__('Active Sessions'),
        body: t._n('Interrupted %1 busy kernel.', 'Interrupted %1 busy kernels.', count),
        buttons: [Dialog.okButton({ label: t.__('OK') })]
      });
    }
  });
  for (const command of Object.values(CommandIDs)) {
    palette?.addItem({ command, category: t.__('Kernel') });
  }
}
