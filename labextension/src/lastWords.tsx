/**
 * How a kernel's process ended, in its own words: the reason line (where it
 * faulted, or what a start that failed said last) and what the process
 * wrote last on its stdout and stderr, collapsed, monospace, selectable and
 * copyable. Shown under "Recently ended" and in an expanded row's last exit.
 * The text is the server's, escaped there: rendered as text, never as HTML.
 */
import { Clipboard } from '@jupyterlab/apputils';
import * as React from 'react';

import { faultLine, ITranslate, lastLine, whyNoWords } from './format';
import { useTranslate } from './translate';
import { ILastWords } from './types';

/** The line under a reason that says where or why: the fault, or the last
 * line a start that failed wrote; null when there is none. */
export function reasonDetail(
  reason: string,
  words: ILastWords | null,
  t: ITranslate
): string | null {
  if (words?.fault) {
    return faultLine(words.fault, t);
  }
  if (reason === 'failed_to_start' && words?.text) {
    return lastLine(words.text) || null;
  }
  return null;
}

// The line Python's fault handler begins its report with.
const FATAL = 'Fatal Python error:';
// Lines shown above the fault report when the text opens: what the process
// wrote just before it (a C library's message, say).
const LINES_BEFORE_FAULT = 3;

/** The text in two parts: before the fault handler's last report, and from
 * it on (the whole text in `before` without one). */
function splitAtFault(text: string): [string, string] {
  const at = text.lastIndexOf(FATAL);
  if (at < 0 || (at > 0 && text[at - 1] !== '\n')) {
    return [text, ''];
  }
  return [text.slice(0, at), text.slice(at)];
}

function CopyButton(props: { text: string }): JSX.Element {
  const t = useTranslate();
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="jp-ActiveSessions-copy"
      aria-label={t.__('Copy what its process wrote')}
      title={t.__('Copy what its process wrote')}
      onClick={() => {
        // JupyterLab's copy works where navigator.clipboard does not (plain http).
        Clipboard.copyToSystem(props.text);
        setCopied(true);
      }}
    >
      <span aria-live="polite">{copied ? t.__('Copied') : t.__('Copy')}</span>
    </button>
  );
}

/** What the process wrote last: collapsed; opened, it shows from a few
 * lines above the fault report, if there is one, else its end. */
export function LastWords(props: { words: ILastWords | null }): JSX.Element | null {
  const { words } = props;
  const t = useTranslate();
  const pre = React.useRef<HTMLPreElement>(null);
  const fault = React.useRef<HTMLSpanElement>(null);
  if (!words) {
    return null; // a record from before last words, or of a process still running
  }
  if (words.text === null) {
    const why = whyNoWords(words.why_null, t);
    return why ? <p className="jp-ActiveSessions-noWords">{why}</p> : null;
  }
  if (!words.text.trim()) {
    return <p className="jp-ActiveSessions-noWords">{t.__('Its process wrote nothing.')}</p>;
  }
  const text = words.text;
  const lines = text.replace(/\n$/, '').split('\n').length;
  const [before, from] = splitAtFault(text);
  const onToggle = (e: React.SyntheticEvent<HTMLDetailsElement>) => {
    const box = pre.current;
    if (!e.currentTarget.open || !box) {
      return;
    }
    const mark = fault.current;
    if (mark) {
      const line = parseFloat(getComputedStyle(box).lineHeight) || 16;
      box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - LINES_BEFORE_FAULT * line);
    } else {
      box.scrollTop = box.scrollHeight;
    }
  };
  return (
    <details className="jp-ActiveSessions-lastWords" onToggle={onToggle}>
      <summary>
        {t._n(
          'What its process wrote last (%1 line)',
          'What its process wrote last (%1 lines)',
          lines
        )}
        {words.truncated && ' ' + t.__('(older lines dropped)')}
      </summary>
      <div className="jp-ActiveSessions-lastWordsBody">
        <CopyButton text={text} />
        <pre ref={pre} tabIndex={0} aria-label={t.__('What its process wrote last')}>
          {before}
          {from && (
            <span ref={fault} className="jp-ActiveSessions-faultReport">
              {from}
            </span>
          )}
        </pre>
      </div>
    </details>
  );
}
