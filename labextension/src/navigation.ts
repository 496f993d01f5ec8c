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
import { Widget } from '@lumino/widgets';

/** The part of a NotebookPanel this module uses. */
interface INotebookLike extends Widget {
  context: { ready: Promise<void>; path: string };
  content: {
    widgets: ReadonlyArray<{ model: { id: string } }>;
    activeCellIndex: number;
    deselectAll(): void;
    scrollToItem(index: number, behavior?: string): Promise<void>;
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
  await notebook.scrollToItem(index, 'smooth');
  return true;
}
