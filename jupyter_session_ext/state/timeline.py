"""A kernel's memory and CPU over the last hour (by default): what
`GET api/active-sessions/{id}/resources` answers and the panel draws.

Kept on the server, so a reload or a second browser sees the same history.
Bounded: one point per sampling interval, the oldest dropped. A kernel is
sampled more often while it runs a cell; those samples fold into the
interval's point, which keeps the highest memory and CPU seen in it, so a
short spike still shows.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import NamedTuple

# Whatever the settings say, a kernel keeps at most this many points.
MAX_POINTS = 20_000


class Sample(NamedTuple):
    at: datetime
    memory_bytes: int
    cpu_percent: float


class ResourceTimeline:
    def __init__(self, seconds: float = 3600.0, interval: float = 5.0) -> None:
        self.interval = interval
        self._points: deque[Sample] = deque(maxlen=self._length(seconds, interval))

    @staticmethod
    def _length(seconds: float, interval: float) -> int:
        if interval <= 0 or seconds <= 0:
            return 1
        return max(1, min(MAX_POINTS, int(seconds / interval) + 1))

    def configure(self, seconds: float, interval: float) -> None:
        """Follow a change of the settings, keeping the newest points."""
        length = self._length(seconds, interval)
        self.interval = interval
        if length != self._points.maxlen:
            self._points = deque(self._points, maxlen=length)

    def add(self, sample: Sample) -> None:
        points = self._points
        if points and self.interval > 0:
            last = points[-1]
            # In the same interval of the clock as the last point: fold into it.
            if int(sample.at.timestamp() // self.interval) == int(
                last.at.timestamp() // self.interval
            ):
                points[-1] = Sample(
                    last.at,
                    max(last.memory_bytes, sample.memory_bytes),
                    max(last.cpu_percent, sample.cpu_percent),
                )
                return
        points.append(sample)

    def samples(self, points: int | None = None) -> list[Sample]:
        """Oldest first; with `points`, at most that many, each the highest of
        the consecutive samples it stands for."""
        every = list(self._points)
        if points is None or points <= 0 or len(every) <= points:
            return every
        size = -(-len(every) // points)  # ceiling: never more than `points`
        return [
            Sample(
                group[0].at,
                max(s.memory_bytes for s in group),
                max(s.cpu_percent for s in group),
            )
            for group in (every[i : i + size] for i in range(0, len(every), size))
        ]

    @property
    def last(self) -> Sample | None:
        return self._points[-1] if self._points else None
