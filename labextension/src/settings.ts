/**
 * The extension's settings (schema/plugin.json): loaded from JupyterLab's
 * setting registry, whose schema gives every default, and kept current as
 * the user changes them; the choices made in the panel (sort, filter) are
 * saved back.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IPanelSettings } from './panel';

export const PLUGIN_ID = 'jupyter-session-ext:plugin';

export interface ISettings extends IPanelSettings {
  refreshInterval: number;
  notifyAfterSeconds: number;
  notifyKernelEnds: boolean;
  desktopNotifications: boolean;
}

export interface ILoadedSettings {
  /** The current values (the same object, updated in place on a change). */
  readonly values: ISettings;
  /** Called after each change. */
  onChange(listener: (previous: ISettings) => void): void;
  /** Keep a choice the user made in the panel; typing in the filter saves once they pause. */
  save(key: 'sortBy' | 'filter', value: string): void;
}

export async function loadSettings(registry: ISettingRegistry): Promise<ILoadedSettings> {
  const loaded = await registry.load(PLUGIN_ID);
  const values = { ...(loaded.composite as unknown as ISettings) };
  const listeners: ((previous: ISettings) => void)[] = [];
  loaded.changed.connect(() => {
    const previous = { ...values };
    Object.assign(values, loaded.composite as unknown as ISettings);
    listeners.forEach(listener => listener(previous));
  });
  let pending = 0;
  return {
    values,
    onChange: listener => listeners.push(listener),
    save: (key, value) => {
      window.clearTimeout(pending);
      pending = window.setTimeout(
        () =>
          void loaded
            .set(key, value)
            .catch(error => console.warn('Active Sessions: setting not saved', error)),
        key === 'filter' ? 500 : 0
      );
    }
  };
}
