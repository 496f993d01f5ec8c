"""What passes between the event loop and the store's thread: the batch of
what the loop learned, the bounds of what is kept, this server's identity,
and what a start reads back. Plain data."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..state.ended import EndedKernel

_Row = TypeVar("_Row", bound=tuple[Any, ...])


@dataclass
class Limits:
    """The bounds of what is kept (the registry's settings)."""

    history_length: int = 100
    ended_max: int = 200
    ended_retention: int = 3600
    cells_per_notebook: int = 1000
    notebooks: int = 200


@dataclass
class Server:
    """This server, as its row says."""

    server_id: str
    host: str
    pid: int
    pid_started: float | None
    started: float = field(default_factory=time.time)


@dataclass
class Batch:
    """What the event loop learned since the last write."""

    # kernel_id -> its snapshot (rows.ended_row, reason server_lost).
    kernels: dict[str, str] = field(default_factory=dict)
    # (kernel_id, number, rows.execution_row)
    executions: list[tuple[str, int, str]] = field(default_factory=list)
    # (kernel_id, ended, as epoch seconds, rows.ended_row)
    ended: list[tuple[str, float, str]] = field(default_factory=list)
    # (notebook_path, cell_id, seconds, at)
    durations: list[tuple[str, str, float, float]] = field(default_factory=list)

    def merge(self, other: Batch) -> None:
        self.kernels.update(other.kernels)
        for kernel_id, _, _ in other.ended:
            self.kernels.pop(kernel_id, None)
        self.executions.extend(other.executions)
        self.ended.extend(other.ended)
        self.durations.extend(other.durations)

    def __len__(self) -> int:
        return len(self.kernels) + len(self.executions) + len(self.ended) + len(self.durations)

    def drop_unwritable(self) -> Counter[str]:
        """Drop the rows SQLite would refuse (and with them the whole write):
        how many went, by why. Their values come from clients and kernels."""
        dropped: Counter[str] = Counter()
        for kernel_id, record in list(self.kernels.items()):
            why = _unwritable((kernel_id, record))
            if why:
                del self.kernels[kernel_id]
                dropped[why] += 1
        self.executions = self._writable(self.executions, dropped)
        self.ended = self._writable(self.ended, dropped)
        self.durations = self._writable(self.durations, dropped)
        return dropped

    @staticmethod
    def _writable(rows_: list[_Row], dropped: Counter[str]) -> list[_Row]:
        kept = []
        for row in rows_:
            why = _unwritable(row)
            if why:
                dropped[why] += 1
            else:
                kept.append(row)
        return kept

    def cap(self, limit: int) -> int:
        """Drop the oldest rows beyond `limit` of each kind (while the file
        cannot be written); how many went."""
        dropped = 0
        for rows_ in (self.executions, self.ended, self.durations):
            extra = len(rows_) - limit
            if extra > 0:
                del rows_[:extra]
                dropped += extra
        return dropped


def _unwritable(row: tuple[object, ...]) -> str | None:
    """Why SQLite would refuse `row` for columns that are all NOT NULL text
    and numbers; None when it takes it."""
    for value in row:
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return "text that is not valid Unicode"
        elif isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                return "a number out of range"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return "a number out of range"
        else:
            return f"a value of type {type(value).__name__}"
    return None


@dataclass
class Loaded:
    """What a start reads back."""

    ended: list[EndedKernel]
    durations: list[tuple[str, str, float]]
    lost: int  # kernels of dead servers recorded as server_lost now
    bad_rows: int
