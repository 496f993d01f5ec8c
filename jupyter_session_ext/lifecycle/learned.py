"""What the event loop learned since the store's last write, gathered into
one batch of rows for the store's thread (`persistence.py` hands it over
every write interval): each changed kernel's snapshot, its newly finished
executions and their durations, the kernels that ended.

A record that cannot be made into a row (a value a kernel or a client sent
that the row cannot hold) is skipped and counted; the rest of the batch is
written all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..state.ended import SERVER_LOST, EndedKernel, ended_record
from ..state.history import duration_to_remember
from ..state.kernel_state import BUSY
from ..state.record import TrackedKernel
from ..store import rows
from ..store.batch import Batch


class Learned:
    def __init__(
        self, kernels: Mapping[str, TrackedKernel], say: Callable[[Exception, str], None]
    ) -> None:
        """`say`: logs a failure (once per cause)."""
        self._kernels = kernels
        self._say = say
        self._dirty: set[str] = set()
        self._written: dict[str, int] = {}  # kernel_id -> executions written
        self._ended: list[EndedKernel] = []
        self.skipped = 0  # records that could not be made into rows

    def changed(self, kernel_id: str) -> None:
        self._dirty.add(kernel_id)

    def removed(self, kernel_id: str) -> None:
        self._dirty.discard(kernel_id)

    def ended(self, record: EndedKernel) -> None:
        self._ended.append(record)

    def batch(self) -> Batch:
        """What changed since the last batch; never raises for a bad record."""
        batch = Batch()
        now = time.time()
        # Taken first: what fails is not tried again every interval.
        dirty, self._dirty = self._dirty, set()
        ended, self._ended = self._ended, []
        for kernel_id in dirty:
            tracked = self._kernels.get(kernel_id)
            snapshot = None if tracked is None else self._row(ended_record, tracked, SERVER_LOST)
            if tracked is None or snapshot is None:
                continue  # gone, not seen running yet (nothing to record if lost), or bad
            history = tracked.state.history
            row = self._row(rows.ended_row, snapshot, busy=tracked.state.status == BUSY)
            if row is not None:
                batch.kernels[kernel_id] = row
            self._add_executions(
                batch, kernel_id, history.total, history.executions(), tracked.notebook_path, now
            )
        for record in ended:
            row = self._row(rows.ended_row, record)
            when = self._row(record.ended.timestamp)
            if row is not None and when is not None:
                batch.ended.append((record.session_id, when, row))
            self._add_executions(
                batch,
                record.session_id,
                record.total,
                list(record.executions),
                record.notebook_path,
                now,
            )
            self._written.pop(record.session_id, None)
        return batch

    def _row(self, make: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`make(...)`, or None when what the kernels and clients sent cannot
        be made into a row (rows.py may raise anything a value provokes)."""
        try:
            return make(*args, **kwargs)
        except Exception as err:
            self.skipped += 1
            self._say(err, "a record could not be stored; skipped")
            return None

    def _add_executions(
        self,
        batch: Batch,
        kernel_id: str,
        total: int,
        executions: list[Any],
        notebook_path: str | None,
        now: float,
    ) -> None:
        """The executions of `kernel_id` not written yet (newest first in
        `executions`; the newest is number `total`)."""
        new = min(total - self._written.get(kernel_id, 0), len(executions))
        for i, finished in enumerate(executions[:new]):
            row = self._row(rows.execution_row, finished)
            if row is None:
                continue
            batch.executions.append((kernel_id, total - i, row))
            seconds = duration_to_remember(finished)
            if notebook_path is not None and seconds is not None:
                assert finished.entry.cell_id is not None
                batch.durations.append(
                    (notebook_path, finished.entry.cell_id, seconds, now - i * 1e-6)
                )
        self._written[kernel_id] = total
