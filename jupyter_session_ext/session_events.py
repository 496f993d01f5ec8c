"""Session changes on the server's own event bus (`serverapp.event_logger`,
delivered on `/api/events/subscribe`), coalesced per session.

The first change of a quiet session is emitted at once (a kernel turning busy
is seen without delay); further changes within `coalesce_interval` are folded
into one trailing event carrying the state at that moment. A tight loop of
thousands of executions thus costs a few events per second per kernel.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from traitlets import Float, Instance, TraitError, validate
from traitlets.config import LoggingConfigurable

if TYPE_CHECKING:
    from .registry import TrackedKernel

SCHEMA_PATH = Path(__file__).parent / "event_schemas" / "active_session_v1.yaml"
SCHEMA_ID = "https://github.com/jupyter-session-ext/jupyter-session-ext/events/active-session/v1"

# When one event stands for several changes, `action` is the first of these.
ACTIONS = (
    "removed", "added", "restarted", "exited", "status", "awaiting_input", "queue",
    "connected", "sessions", "working_directory", "kernel_info", "updated",
)
_RANK = {a: i for i, a in enumerate(ACTIONS)}


class _Pending:
    __slots__ = ("changes", "handle", "last_emit")

    def __init__(self) -> None:
        self.changes: set[str] = set()
        self.handle: asyncio.TimerHandle | None = None
        self.last_emit = float("-inf")


class SessionEvents(LoggingConfigurable):
    """Emits coalesced session-change events."""

    coalesce_interval = Float(
        0.1,
        help="""Seconds within which further changes of one session are folded
        into a single event. 0 emits every change at once.""",
    ).tag(config=True)

    event_logger = Instance("jupyter_events.EventLogger", allow_none=True)

    @validate("coalesce_interval")
    def _check_interval(self, proposal: Any) -> float:
        if proposal.value < 0:
            raise TraitError("SessionEvents.coalesce_interval must be 0 or more seconds.")
        return proposal.value

    def __init__(self, describe: Callable[[TrackedKernel], dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._describe = describe
        self._pending: dict[str, _Pending] = {}
        if self.event_logger is not None and SCHEMA_ID not in self.event_logger.schemas.schema_ids:
            self.event_logger.register_event_schema(SCHEMA_PATH)

    def changed(self, tracked: TrackedKernel, action: str) -> None:
        if self.event_logger is None:
            return
        pending = self._pending.setdefault(tracked.kernel_id, _Pending())
        pending.changes.add(action)
        if action == "removed":
            self._flush(tracked)
            self._pending.pop(tracked.kernel_id, None)
            return
        if pending.handle is not None:
            return  # a trailing event is already due
        wait = pending.last_emit + self.coalesce_interval - time.monotonic()
        if wait <= 0:
            self._flush(tracked)
        else:
            loop = asyncio.get_running_loop()
            pending.handle = loop.call_later(wait, self._flush, tracked)

    def _flush(self, tracked: TrackedKernel) -> None:
        pending = self._pending.get(tracked.kernel_id)
        if pending is None or not pending.changes:
            return
        if pending.handle is not None:
            pending.handle.cancel()
            pending.handle = None
        changes = sorted(pending.changes, key=_RANK.__getitem__)
        pending.changes.clear()
        pending.last_emit = time.monotonic()
        data = {"action": changes[0], "changes": changes, **self._describe(tracked)}
        try:
            self.event_logger.emit(schema_id=SCHEMA_ID, data=data)
        except Exception:
            self.log.exception("Active sessions: could not emit an event")

    def close(self) -> None:
        for pending in self._pending.values():
            if pending.handle is not None:
                pending.handle.cancel()
        self._pending.clear()
