"""The one point every visible change of a kernel's record passes through,
and the server-wide busy/idle clock that follows from them (what
`api/active-sessions/status` says).

Whoever changes a kernel's state reports it here (`changed`, or `before`
and `since` around a state update); whoever reacts to changes (the event
emitter, the record of ended kernels) listens here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .kernel_state import BUSY
from .record import TrackedKernel

# Called with a kernel's record and the kinds of change of one update ("status",
# "queue"...), once per update: a kernel message can change several.
Listener = Callable[[TrackedKernel, "tuple[str, ...]"], None]


_new_tuple = tuple.__new__


class Visible(NamedTuple):
    """The parts of a kernel's state whose change is an event of its own
    (a tuple: made twice per kernel message, so it must be cheap: built with
    tuple.__new__, skipping the NamedTuple's Python-level constructor)."""

    status: str
    queue_version: int
    awaiting_input: Any
    finished: int


class Changes:
    """Counts each kernel's visible changes, keeps the server's busy clock,
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

    def unlisten(self, listener: Listener) -> None:
        """Stop telling `listener` (one that waits for a change, such as an
        agent's wait for an idle kernel, leaves when it is done)."""
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    @staticmethod
    def before(tracked: TrackedKernel) -> Visible:
        """What clients can see now; hand it to `since` after a state update."""
        state = tracked.state  # (built here, not by a helper: twice per kernel message)
        return _new_tuple(
            Visible, (state.status, state.queue.version, state.awaiting_input, state.history.total)
        )

    def since(self, tracked: TrackedKernel, before: Visible) -> None:
        """Report the kinds of visible change since `before`, in one report."""
        after = self.before(tracked)
        if after == before:
            return
        actions = []
        if after.status != before.status:
            actions.append("status")
        if after.queue_version != before.queue_version:
            actions.append("queue")
        if after.awaiting_input != before.awaiting_input:
            actions.append("awaiting_input")
        if after.finished != before.finished:
            actions.append("execution_finished")  # last: SessionEvents relies on it
        self.report(tracked, tuple(actions))

    def changed(self, tracked: TrackedKernel, action: str) -> None:
        self.report(tracked, (action,))

    def report(self, tracked: TrackedKernel, actions: tuple[str, ...]) -> None:
        tracked.revision += 1
        busy_ids = self._busy_ids
        was_busy = bool(busy_ids)
        if tracked.state.status == BUSY and "removed" not in actions:
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
            listener(tracked, actions)

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
