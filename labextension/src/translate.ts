/**
 * The panel's words in the user's language: JupyterLab's ITranslator, domain
 * "jupyter_session_ext" (the catalogs this package ships: jupyter_session_ext/locale,
 * found through the `jupyterlab.locale` entry point), and the language
 * itself for numbers, sizes and times (format.ts), given to every component
 * through one React context (format.ts's functions take the same bundle as
 * an argument).
 */
import { ITranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { intlLocale, ITranslate, plain } from './format';

/** The normalized Python package name: JupyterLab normalizes a domain by
 * replacing its first "-" only, so a name with two would never match the
 * catalogs' name. */
export const DOMAIN = 'jupyter_session_ext';

/** Our bundle of the user's language, and that language for Intl. */
export function loadTranslate(translator: ITranslator): ITranslate {
  const bundle = translator.load(DOMAIN);
  return {
    __: (msgid, ...args) => bundle.__(msgid, ...args),
    _n: (msgid, msgidPlural, n, ...args) => bundle._n(msgid, msgidPlural, n, ...args),
    locale: intlLocale(translator.languageCode)
  };
}

export const TranslateContext = React.createContext<ITranslate>(plain);

export function useTranslate(): ITranslate {
  return React.useContext(TranslateContext);
}
