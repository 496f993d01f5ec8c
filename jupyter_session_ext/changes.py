"""The one point every visible change of a session passes through, and the
server-wide busy/idle clock that follows from them (spec §4).

Whoever changes a session's state reports it here (`changed`, or `watch`
around a state update); whoever reacts to changes (the event emitter, and
anything later that keeps a record) listens here.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator, NamedTuple

from .models import TrackedKernel
from .session_state import BUSY

Listener = Callable[[TrackedKernel, str], None]


class Visible(NamedTuple):
    """The parts of a session's state whose change is an event of its own
    (a tuple: made twice per kernel message, so it must be cheap)."""

    status: str
    queue_version: int
    awaiting_input: Any
    finished: int

    @classmethod
    def of(cls, tracked: TrackedKernel) -> "Visible":
        state = tracked.state
        return cls(state.status, state.queue.version, state.awaiting_input,
                   state.history.total)


class Changes:
    """Counts each session's visible changes, keeps the server's busy clock,
    and tells the listeners."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        # Ids of busy kernels, and the monotonic instants at which the server
        # as a whole became busy / idle.
        self._busy_ids: set[str] = set()
        self._busy_since: float | None = None
        self._idle_since: float = time.monotonic()

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @contextlib.contextmanager
    def watch(self, tracked: TrackedKernel) -> Iterator[Visible]:
        """Compare what clients can see before and after a state update and
        report each kind of change once."""
        before = Visible.of(tracked)
        yield before
        after = Visible.of(tracked)
        if after.status != before.status:
            self.changed(tracked, "status")
        if after.queue_version != before.queue_version:
            self.changed(tracked, "queue")
        if after.awaiting_input != before.awaiting_input:
            self.changed(tracked, "awaiting_input")
        if after.finished != before.finished:
            self.changed(tracked, "execution_finished")

    def changed(self, tracked: TrackedKernel, action: str) -> None:
        tracked.revision += 1
        if action != "removed" and tracked.state.status == BUSY:
            self._busy_ids.add(tracked.kernel_id)
        else:
            self._busy_ids.discard(tracked.kernel_id)
        now = time.monotonic()
        if self._busy_ids and self._busy_since is None:
            self._busy_since = now
        elif not self._busy_ids and self._busy_since is not None:
            self._busy_since = None
            self._idle_since = now
        for listener in self._listeners:
            listener(tracked, action)

    # -- the server as a whole -------------------------------------------------------

    @property
    def server_busy(self) -> bool:
        return bool(self._busy_ids)

    def server_busy_seconds(self) -> int:
        if self._busy_since is None:
            return 0
        return int(time.monotonic() - self._busy_since)

    def server_idle_seconds(self) -> int:
        if self._busy_since is not None:
            return 0
        return int(time.monotonic() - self._idle_since)
