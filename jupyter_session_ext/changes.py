"""The one point every visible change of a session passes through, and the
server-wide busy/idle clock that follows from them (spec §4).

Whoever changes a session's state reports it here (`changed`, or `before`
and `since` around a state update); whoever reacts to changes (the event
emitter, the record of ended kernels) listens here.
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

from .models import TrackedKernel
from .session_state import BUSY

Listener = Callable[[TrackedKernel, str], None]


_new_tuple = tuple.__new__


class Visible(NamedTuple):
    """The parts of a session's state whose change is an event of its own
    (a tuple: made twice per kernel message, so it must be cheap; `of` skips
    the NamedTuple's Python-level constructor)."""

    status: str
    queue_version: int
    awaiting_input: Any
    finished: int

    @classmethod
    def of(cls, tracked: TrackedKernel) -> "Visible":
        state = tracked.state
        return _new_tuple(cls, (state.status, state.queue.version, state.awaiting_input,
                                state.history.total))


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

    @staticmethod
    def before(tracked: TrackedKernel) -> Visible:
        """What clients can see now; hand it to `since` after a state update."""
        return Visible.of(tracked)

    def since(self, tracked: TrackedKernel, before: Visible) -> None:
        """Report each kind of visible change since `before`, once."""
        after = Visible.of(tracked)
        if after == before:
            return
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
        busy_ids = self._busy_ids
        was_busy = bool(busy_ids)
        if action != "removed" and tracked.state.status == BUSY:
            busy_ids.add(tracked.kernel_id)
        else:
            busy_ids.discard(tracked.kernel_id)
        if bool(busy_ids) != was_busy:  # the server as a whole turned busy or idle
            if was_busy:
                self._busy_since = None
                self._idle_since = time.monotonic()
            else:
                self._busy_since = time.monotonic()
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
