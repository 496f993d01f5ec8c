"""How long each notebook's cells took the last time they ran, in any kernel:
a queue entry's `expected_seconds` for a cell of a notebook, so that a cell
that took 40 minutes yesterday shows its progress against 40 minutes today,
in a new kernel. (A cell without a notebook is expected from its own
kernel's history: `history.py`.)

Plain Python. Bounded: `cells_per_notebook` cells per notebook and
`notebooks` notebooks, the least recently run going first. `persistence`
fills it from the store at start and the store mirrors what it learns.
"""

from __future__ import annotations

from collections import OrderedDict

from .history import FinishedExecution, duration_to_remember
from .record import TrackedKernel


class NotebookDurations:
    def __init__(self, cells_per_notebook: int = 1000, notebooks: int = 200) -> None:
        self.cells_per_notebook = max(1, cells_per_notebook)
        self.notebooks = max(1, notebooks)
        self._by_notebook: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()

    def remember(self, notebook_path: str, cell_id: str, seconds: float) -> None:
        cells = self._by_notebook.get(notebook_path)
        if cells is None:
            cells = self._by_notebook[notebook_path] = OrderedDict()
        self._by_notebook.move_to_end(notebook_path)
        cells[cell_id] = seconds
        cells.move_to_end(cell_id)
        while len(cells) > self.cells_per_notebook:
            cells.popitem(last=False)
        while len(self._by_notebook) > self.notebooks:
            self._by_notebook.popitem(last=False)

    def learn(self, notebook_path: str | None, finished: FinishedExecution) -> bool:
        """Remember `finished` for its notebook; True when it was worth it."""
        seconds = duration_to_remember(finished)
        if notebook_path is None or seconds is None:
            return False
        assert finished.entry.cell_id is not None  # (duration_to_remember checked)
        self.remember(notebook_path, finished.entry.cell_id, seconds)
        return True

    def restore(self, rows: list[tuple[str, str, float]]) -> None:
        """Durations read back from the store, oldest first; what was learned
        since the server started is newer and stands."""
        for notebook_path, cell_id, seconds in rows:
            cells = self._by_notebook.get(notebook_path)
            if cells is not None and cell_id in cells:
                continue
            self.remember(notebook_path, cell_id, seconds)

    def expected(self, notebook_path: str | None, cell_id: str | None) -> float | None:
        if notebook_path is None or not cell_id:
            return None
        cells = self._by_notebook.get(notebook_path)
        return cells.get(cell_id) if cells is not None else None

    # -- for the kernels ---------------------------------------------------------

    def changed(self, tracked: TrackedKernel, actions: tuple[str, ...]) -> None:
        """A `changes.Changes` listener: a finished cell of a notebook tells
        how long that cell takes, for every kernel of the notebook."""
        if actions[-1] == "execution_finished":
            finished = tracked.state.history.latest
            if finished is not None:
                self.learn(tracked.notebook_path, finished)

    def expected_for(self, tracked: TrackedKernel, cell_id: str | None) -> float | None:
        """A queue entry's `expected_seconds`: the notebook's last run of the
        cell, else this kernel's."""
        expected = self.expected(tracked.notebook_path, cell_id)
        return expected if expected is not None else tracked.state.history.expected_seconds(cell_id)

    def __len__(self) -> int:
        return sum(len(cells) for cells in self._by_notebook.values())
