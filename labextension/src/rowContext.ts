/**
 * What every row of the panel (row.tsx) and its details (details.tsx) share:
 * the model, the clock, how to open a notebook, and the settings they show by.
 */
import { Clock } from './clock';
import { ActiveSessionsModel } from './model';

export interface IRowContext {
  model: ActiveSessionsModel;
  clock: Clock;
  /** Open a notebook, at a cell when `cellId` is given. */
  open: (path: string, cellId?: string | null) => void;
  codePreviewLines: number;
  showEnvironment: boolean;
  /** Show the cull countdown this many seconds ahead. */
  cullWarningSeconds: number;
  /** The URL of a kernelspec's logo, as the server serves it; null without one. */
  kernelLogo: (kernelName: string) => string | null;
}
