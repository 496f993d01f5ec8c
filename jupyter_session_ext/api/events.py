"""Changes of the kernels' records on the server's own event bus
(`serverapp.event_logger`, delivered on `/api/events/subscribe`), coalesced
per kernel; what each event carries is built in serialize.py.

Each kernel has a token bucket: a quiet one may emit a burst of up to
`BURST` events at once (one short cell is five changes: submitted, busy,
started, replied, idle; all are seen without delay), and one more per
`coalesce_interval` after that. Changes beyond the budget are folded into one
trailing event carrying the state at that moment, so a tight loop of thousands
of executions costs about 1 / coalesce_interval events per second per kernel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Float, Instance, TraitError, observe, validate
from traitlets.config import LoggingConfigurable

from ..state.record import TrackedKernel
from ..untrusted import LogLimiter
from . import serialize

if TYPE_CHECKING:
    from ..state.ended import EndedKernel

SCHEMA_PATH = Path(__file__).parent / "event_schemas" / "active_session_v1.yaml"
SCHEMA_ID = "https://github.com/jupyter-session-ext/jupyter-session-ext/events/active-session/v1"

# When one event stands for several changes, `action` is the first of these.
ACTIONS = (
    "removed",
    "added",
    "restarted",
    "exited",
    "status",
    "awaiting_input",
    "queue",
    "connected",
    "sessions",
    "working_directory",
    "kernel_info",
    "updated",
)
_RANK = {a: i for i, a in enumerate(ACTIONS)}
_dropped = LogLimiter()


# Events a quiet kernel may emit back to back before coalescing starts:
# a short cell is five changes, so two cells in a row are seen as they happen.
BURST = 10
# `execution_finished` events (each may become a notification in every open
# tab) a kernel may emit at once, and then one per this many seconds: a
# kernel that forges finished executions in a loop cannot flood the tabs.
FINISHED_BURST = 20
FINISHED_EVERY = 3.0


class _Bucket:
    """Tokens for events: up to `burst` at once, one more per `every` s."""

    __slots__ = ("tokens", "refilled_at")

    def __init__(self, burst: int) -> None:
        self.tokens = float(burst)
        self.refilled_at = time.monotonic()

    def refill(self, every: float, burst: int) -> None:
        now = time.monotonic()
        if every <= 0:
            self.tokens = float(burst)
        else:
            self.tokens = min(float(burst), self.tokens + (now - self.refilled_at) / every)
        self.refilled_at = now

    def take(self, every: float, burst: int) -> bool:
        self.refill(every, burst)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class _Pending(_Bucket):
    __slots__ = ("changes", "handle")

    def __init__(self) -> None:
        super().__init__(BURST)
        self.changes: set[str] = set()
        self.handle: asyncio.TimerHandle | None = None


class SessionEvents(LoggingConfigurable):
    """Emits coalesced session-change events."""

    coalesce_interval = Float(
        0.1,
        help="""After a burst of a few events, a session emits at most one
        event per this many seconds; the changes in between are folded into
        one trailing event. 0 emits every change at once.""",
    ).tag(config=True)

    finished_event_min_seconds = Float(
        1.0,
        help="""An `execution_finished` event is emitted for executions that ran
        at least this many seconds (so a front end can tell the user a long
        cell finished, even with its notebook closed). 0 emits one for every
        execution.""",
    ).tag(config=True)

    event_logger = Instance("jupyter_events.EventLogger", allow_none=True)

    @validate("coalesce_interval", "finished_event_min_seconds")
    def _check_interval(self, proposal: Any) -> float:
        if proposal.value < 0:
            raise TraitError(f"SessionEvents.{proposal.trait.name} must be 0 or more seconds.")
        return proposal.value

    def __init__(self, connections: Callable[[str], int], **kwargs: Any) -> None:
        """`connections(kernel_id)` counts a kernel's clients for the payload."""
        super().__init__(**kwargs)
        self._connections = connections
        self._pending: dict[str, _Pending] = {}
        self._finished_tokens: dict[str, _Bucket] = {}
        self._emitting = self.event_logger is not None  # read per change: not a trait
        if self.event_logger is not None and SCHEMA_ID not in self.event_logger.schemas.schema_ids:
            self.event_logger.register_event_schema(SCHEMA_PATH)

    @observe("event_logger")
    def _logger_changed(self, change: Any) -> None:
        self._emitting = change["new"] is not None

    def changed(self, tracked: TrackedKernel, actions: tuple[str, ...]) -> None:
        """A `changes.Changes` listener: the kinds of change of one update."""
        if not self._emitting:
            return
        if "execution_finished" in actions:
            # Its own event, never folded: at most one per finished execution
            # of at least finished_event_min_seconds (Changes puts it last).
            self._finished(tracked)
            actions = actions[:-1]
            if not actions:
                return
        pending = self._pending.get(tracked.kernel_id)
        if pending is None:  # (not setdefault: that makes one on every call)
            pending = self._pending[tracked.kernel_id] = _Pending()
        pending.changes.update(actions)
        if "removed" in actions:
            self._flush(tracked)
            self._pending.pop(tracked.kernel_id, None)
            self._finished_tokens.pop(tracked.kernel_id, None)
            return
        if pending.handle is not None:
            return  # a trailing event is already due
        pending.refill(self.coalesce_interval, BURST)
        if pending.tokens >= 1:
            self._flush(tracked)
        else:
            wait = (1 - pending.tokens) * self.coalesce_interval
            pending.handle = asyncio.get_running_loop().call_later(wait, self._flush, tracked)

    def _flush(self, tracked: TrackedKernel) -> None:
        pending = self._pending.get(tracked.kernel_id)
        if pending is None or not pending.changes:
            return
        if pending.handle is not None:
            pending.handle.cancel()
            pending.handle = None
        changes = sorted(pending.changes, key=_RANK.__getitem__)
        pending.changes.clear()
        pending.refill(self.coalesce_interval, BURST)
        pending.tokens = max(0.0, pending.tokens - 1)
        payload = serialize.event_payload(tracked, self._connections(tracked.kernel_id))
        self._emit({"action": changes[0], "changes": changes, **payload})

    def _finished(self, tracked: TrackedKernel) -> None:
        finished = tracked.state.history.latest
        if finished is None or finished.duration_seconds < self.finished_event_min_seconds:
            return
        bucket = self._finished_tokens.get(tracked.kernel_id)
        if bucket is None:
            bucket = self._finished_tokens[tracked.kernel_id] = _Bucket(FINISHED_BURST)
        if not bucket.take(FINISHED_EVERY, FINISHED_BURST):
            _dropped.warning(
                "finished",
                "Active sessions: kernel %s finished more than %d executions at once, then"
                " more than one per %g s; the execution_finished events beyond are left out",
                tracked.kernel_id,
                FINISHED_BURST,
                FINISHED_EVERY,
                log=self.log,
            )
            return
        self._emit(serialize.finished_event(tracked, finished))

    def ended(self, record: EndedKernel) -> None:
        """A kernel is gone (lifecycle/ended.py): why, and what it last ran."""
        if self.event_logger is None:
            return
        self._emit(serialize.ended_event(record))

    def memory_warning(self, data: dict[str, Any]) -> None:
        """Memory use crossed the warning fraction of the limit (memory/limits.py)."""
        self._emit(data)

    def _emit(self, data: dict[str, Any]) -> None:
        logger = self.event_logger
        if logger is None:
            return
        try:
            logger.emit(schema_id=SCHEMA_ID, data=data)
        except Exception:
            self.log.exception("Active sessions: could not emit an event")

    def close(self) -> None:
        for pending in self._pending.values():
            if pending.handle is not None:
                pending.handle.cancel()
        self._pending.clear()
