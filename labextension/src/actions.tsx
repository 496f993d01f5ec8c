/**
 * What the panel asks before acting, and how a failed action is reported:
 * JupyterLab's own dialogs, one function per action.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import * as React from 'react';

import { formatDuration, ITranslate, plain } from './format';
import { ActiveSessionsModel } from './model';
import { idleLongerThan, rowTitle } from './sessions';
import { IActiveSession } from './types';

/** Run an action; a failure is shown (titled `failure`), not thrown. */
export async function run(failure: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    await showErrorMessage(failure, error as Error);
  }
}

function KernelList(props: { sessions: readonly IActiveSession[] }): JSX.Element {
  return (
    <ul className="jp-ActiveSessions-confirmList">
      {props.sessions.map(s => (
        <li key={s.session_id}>{rowTitle(s)}</li>
      ))}
    </ul>
  );
}

export async function confirmShutdown(
  model: ActiveSessionsModel,
  sessions: readonly IActiveSession[],
  t: ITranslate = plain
): Promise<void> {
  if (sessions.length === 0) {
    return;
  }
  const result = await showDialog({
    title: t._n('Shut down kernel?', 'Shut down %1 kernels?', sessions.length),
    body: (
      <div>
        <p>{t.__('Their variables are lost.')}</p>
        <KernelList sessions={sessions} />
      </div>
    ),
    buttons: [
      Dialog.cancelButton({ label: t.__('Cancel') }),
      Dialog.warnButton({ label: t.__('Shut Down') })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  const failed = await model.shutdownMany(sessions.map(s => s.session_id));
  if (failed.length) {
    await showErrorMessage(
      t.__('Could not shut down every kernel'),
      t._n(
        '%1 of %2 could not be shut down.',
        '%1 of %2 could not be shut down.',
        failed.length,
        sessions.length
      )
    );
  }
}

export async function confirmKill(
  model: ActiveSessionsModel,
  s: IActiveSession,
  t: ITranslate = plain
): Promise<void> {
  const result = await showDialog({
    title: t.__('Kill kernel?'),
    body: t.__(
      '"%1" and every process it started are ended at once, without asking the kernel (for a kernel that ignores interrupt and shutdown). Its variables are lost.',
      rowTitle(s)
    ),
    buttons: [
      Dialog.cancelButton({ label: t.__('Cancel') }),
      Dialog.warnButton({ label: t.__('Kill') })
    ]
  });
  if (result.button.accept) {
    await run(t.__('Could not kill the kernel'), () => model.kill(s.session_id));
  }
}

/** The dialog body: a duration choice and, live, the kernels it would take. */
function IdleChoice(props: {
  model: ActiveSessionsModel;
  choices: number[];
  initial: number;
  onChange: (seconds: number) => void;
  t: ITranslate;
}): JSX.Element {
  const { model, choices, t } = props;
  const [seconds, setSeconds] = React.useState(props.initial);
  const idle = idleLongerThan(model.sessions, seconds, id => model.fetchedAtOf(id));
  return (
    <div className="jp-ActiveSessions-idleChoice">
      <label>
        {t.__('Idle for more than')}{' '}
        <select
          aria-label={t.__('Idle for more than')}
          value={seconds}
          onChange={e => {
            setSeconds(Number(e.target.value));
            props.onChange(Number(e.target.value));
          }}
        >
          {choices.map(c => (
            <option key={c} value={c}>
              {formatDuration(c, t)}
            </option>
          ))}
        </select>
      </label>
      {idle.length ? (
        <KernelList sessions={idle} />
      ) : (
        <p>{t.__('No kernel has been idle that long.')}</p>
      )}
    </div>
  );
}

export async function confirmShutdownIdle(
  model: ActiveSessionsModel,
  choices: number[], // seconds, from the settings (idleShutdownChoices)
  t: ITranslate = plain
): Promise<void> {
  let seconds = choices[Math.min(2, choices.length - 1)];
  const result = await showDialog({
    title: t.__('Shut down idle kernels'),
    body: (
      <IdleChoice
        t={t}
        model={model}
        choices={choices}
        initial={seconds}
        onChange={value => (seconds = value)}
      />
    ),
    buttons: [
      Dialog.cancelButton({ label: t.__('Cancel') }),
      Dialog.warnButton({ label: t.__('Shut Down') })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  // What is idle now, not when the dialog opened.
  await model.refresh();
  const idle = idleLongerThan(model.sessions, seconds, id => model.fetchedAtOf(id));
  const failed = await model.shutdownMany(idle.map(s => s.session_id));
  if (failed.length) {
    await showErrorMessage(
      t.__('Could not shut down every kernel'),
      t._n(
        '%1 of %2 could not be shut down.',
        '%1 of %2 could not be shut down.',
        failed.length,
        idle.length
      )
    );
  }
}
