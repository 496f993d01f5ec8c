/**
 * Opening a session's notebook, and scrolling to the cell that runs.
 *
 * The notebook is reached through the `docmanager:open` command and its
 * public widget API, not by importing @jupyterlab/notebook: that keeps the
 * extension light and working in Notebook 7 as in JupyterLab.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

/** The part of a NotebookPanel this module uses. */
interface INotebookLike extends Widget {
  context: { ready: Promise<void> };
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

export async function openNotebook(
  app: JupyterFrontEnd,
  path: string
): Promise<INotebookLike | null> {
  const widget = await app.commands.execute('docmanager:open', { path });
  if (!isNotebook(widget)) {
    return null;
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
