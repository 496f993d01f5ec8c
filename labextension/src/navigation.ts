/**
 * Opening a session's notebook, and scrolling to the cell that runs.
 *
 * A notebook the page already shows is used as it is. Otherwise it is
 * reached through the `docmanager:open` command. Both through the public
 * widget API, not by importing @jupyterlab/notebook: that keeps the
 * extension light and working in Notebook 7 as in JupyterLab. (Notebook 7
 * shows one document per browser tab: there `docmanager:open` opens another
 * tab and disposes the widget it returns, and asking it for the notebook
 * the page shows blanked that page.)
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import type { WindowedList } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

/** The part of a NotebookPanel this module uses. */
interface INotebookLike extends Widget {
  context: { ready: Promise<void>; path: string };
  content: {
    widgets: ReadonlyArray<{ model: { id: string } }>;
    activeCellIndex: number;
    deselectAll(): void;
    // The notebook's own signature (a windowed list's), as the oldest JupyterLab
    // has it: the type checks against its typings (tests/compat) hold the
    // arguments to what every JupyterLab 4 takes.
    scrollToItem(index: number, align?: WindowedList.ScrollToAlign, margin?: number): Promise<void>;
  };
}

function isNotebook(widget: unknown): widget is INotebookLike {
  const w = widget as INotebookLike | undefined;
  return !!w && !!w.context && !!w.content && Array.isArray(w.content.widgets);
}

/** The notebook of `path` the page shows, if it does. */
function shown(app: JupyterFrontEnd, path: string): INotebookLike | null {
  for (const widget of app.shell.widgets('main')) {
    if (isNotebook(widget) && !widget.isDisposed && widget.context.path === path) {
      return widget;
    }
  }
  return null;
}

export async function openNotebook(
  app: JupyterFrontEnd,
  path: string
): Promise<INotebookLike | null> {
  const widget = shown(app, path) ?? (await app.commands.execute('docmanager:open', { path }));
  if (!isNotebook(widget) || widget.isDisposed) {
    return null; // opened elsewhere (Notebook 7: in a tab of its own)
  }
  await widget.context.ready;
  app.shell.activateById(widget.id);
  return widget;
}

/** Open `path` and make the cell with id `cellId` active and visible. */
export async function openCell(
  app: JupyterFrontEnd,
  path: string,
  cellId: string
): Promise<boolean> {
  const panel = await openNotebook(app, path);
  if (!panel) {
    return false;
  }
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
  if (index < 0) {
    return false;
  }
  // As if the user clicked the cell: it alone is selected and active.
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  // An alignment, not a scroll behaviour: JupyterLab 4.0 without windowing
  // hands it to scrollIntoView as `block`, which throws on anything else;
  // with windowing (the default from 4.2 to 4.4) any other value makes the
  // scroll offset NaN, and the list's search for the cell at NaN never ends.
  // 'smart': a cell in view stays where it is, one out of view is brought in
  // (centred when far). The promise rejects when another scroll supersedes
  // this one (the user scrolls on): the cell is active all the same.
  await notebook.scrollToItem(index, 'smart').catch(() => undefined);
  return true;
}
