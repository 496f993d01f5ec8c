/**
 * The panel's words in the user's language: JupyterLab's ITranslator, domain
 * "jupyter-session-ext", given to every component through one React context
 * (format.ts's functions take the same bundle as an argument).
 */
import * as React from 'react';

import { ITranslate, plain } from './format';

export const DOMAIN = 'jupyter-session-ext';

export const TranslateContext = React.createContext<ITranslate>(plain);

export function useTranslate(): ITranslate {
  return React.useContext(TranslateContext);
}
