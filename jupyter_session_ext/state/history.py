"""What a kernel ran: its last finished executions, newest first, and how long
each cell took the last time it ran (a queue entry's `expected_seconds`).

Plain Python, owned by the kernel's `KernelState`; both records are bounded,
so memory does not grow with the number of executions.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

from .queue import QueueEntry

OK = "ok"
ERROR = "error"
ABORTED = "aborted"
OUTCOMES = (OK, ERROR, ABORTED)


def outcome_from_iopub(entry: QueueEntry) -> tuple[str, str | None]:
    """An execution's outcome from IOPub alone (its reply not seen yet): an
    error published, or no code announced (ipykernel aborts a request with
    busy and idle only)."""
    if entry.error_name is not None:
        return ERROR, entry.error_name or None
    if not entry.input_seen:
        return ABORTED, None
    return OK, None


@dataclass
class FinishedExecution:
    entry: QueueEntry
    ended: datetime
    duration_seconds: float
    status: str
    error_name: str | None = None
    # The kernel's memory when it ended (start and peak are on the entry).
    memory_end_bytes: int | None = None


def duration_to_remember(finished: FinishedExecution) -> float | None:
    """What `finished` says of how long its cell takes: None when it never ran,
    or nobody saw it begin (its reply alone told), since its zero says nothing."""
    if not finished.entry.cell_id:
        return None
    if finished.status == ABORTED or finished.entry.started is None:
        return None
    return finished.duration_seconds


class ExecutionHistory:
    # Cells whose last duration is remembered, beyond the executions kept:
    # a long notebook re-run cell by cell still finds its estimates.
    MIN_CELLS = 1000

    def __init__(self, length: int = 100) -> None:
        self._recent: deque[FinishedExecution] = deque(maxlen=max(0, length))
        # Executions finished over the kernel's life (restarts included).
        self.total = 0
        self._durations: OrderedDict[str, float] = OrderedDict()

    @property
    def length(self) -> int:
        return self._recent.maxlen or 0

    def resize(self, length: int) -> None:
        if length != self.length:
            self._recent = deque(self._recent, maxlen=max(0, length))

    def record(
        self,
        entry: QueueEntry,
        ended: datetime,
        status: str,
        error_name: str | None = None,
        kernel_ended: datetime | None = None,
    ) -> FinishedExecution:
        """`ended` is when we saw the end; the duration is the kernel's own
        (its timestamps of busy and of the end) when both are known, since
        ours count when the server got round to reading each message. The
        kernel may write any date, so its figure is never more than the
        server saw go by since the request was submitted."""
        if entry.kernel_started is not None and kernel_ended is not None:
            duration = (kernel_ended - entry.kernel_started).total_seconds()
        elif entry.started is not None:
            duration = (ended - entry.started).total_seconds()
        else:
            duration = 0.0
        observed = (ended - entry.submitted).total_seconds()
        duration = max(0.0, min(duration, observed))
        finished = FinishedExecution(entry, ended, round(duration, 3), status, error_name)
        self._recent.appendleft(finished)
        self.total += 1
        self._remember_duration(finished)
        return finished

    def amend(self, msg_id: str, status: str, error_name: str | None) -> bool:
        """The reply came after IOPub's idle: its outcome is the kernel's word."""
        for finished in self._recent:  # the newest first: almost always the first
            if finished.entry.msg_id == msg_id:
                changed = (finished.status, finished.error_name) != (status, error_name)
                finished.status, finished.error_name = status, error_name
                self._remember_duration(finished)
                return changed
        return False

    def _remember_duration(self, finished: FinishedExecution) -> None:
        seconds = duration_to_remember(finished)
        cell_id = finished.entry.cell_id
        if seconds is None or cell_id is None:
            return
        self._durations[cell_id] = seconds
        self._durations.move_to_end(cell_id)
        while len(self._durations) > max(self.MIN_CELLS, self.length):
            self._durations.popitem(last=False)

    def expected_seconds(self, cell_id: str | None) -> float | None:
        return self._durations.get(cell_id) if cell_id else None

    @property
    def latest(self) -> FinishedExecution | None:
        return self._recent[0] if self._recent else None

    def executions(self, limit: int | None = None) -> list[FinishedExecution]:
        recent = list(self._recent)
        return recent if limit is None else recent[:limit]
