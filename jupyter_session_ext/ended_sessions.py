"""Kernels that are gone, and why (spec §6): the record behind
`GET api/active-sessions/ended` and the `ended` event.

Why a kernel left is known only just before it goes: a client's shutdown (and
who asked), the culler, our kill route, the server stopping. Those paths leave
a note here (`note`); the kernel's removal (a `removed` change) turns the note,
or what the process said of its end, into a record. Records are kept for
`ended_retention` seconds, at most `ended_max` of them.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, NamedTuple

from traitlets import Integer, TraitError, validate
from traitlets.config import LoggingConfigurable

from .models import TrackedKernel, session_mode
from .session_state import BUSY
from .timestamps import isoformat, utcnow

# An ended kernel's reason, besides the process's own `exited` / `killed`.
SHUTDOWN = "shutdown"
CULLED = "culled"
SERVER_STOPPED = "server_stopped"
REASONS = (SHUTDOWN, CULLED, "exited", "killed", SERVER_STOPPED)


class Note(NamedTuple):
    reason: str
    by: str | None = None
    forced: bool = False
    at: datetime | None = None


@dataclass
class EndedSession:
    session_id: str
    display_name: str
    kernel_name: str
    notebook_path: str | None
    session_mode: str
    username: str
    started: datetime
    ended: datetime
    reason: str
    forced: bool
    by: str | None
    exit_code: int | None
    signal: int | None
    idle_seconds: int
    last_execution: dict[str, Any] | None
    recorded: float  # monotonic, for the retention

    def to_json(self, notebook_uri: str | None = None) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "display_name": self.display_name,
            "kernel_name": self.kernel_name,
            "notebook_path": self.notebook_path,
            "notebook_uri": notebook_uri,
            "session_mode": self.session_mode,
            "username": self.username,
            "started": isoformat(self.started),
            "ended": isoformat(self.ended),
            "reason": self.reason,
            "forced": self.forced,
            "by": self.by,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "idle_seconds": self.idle_seconds,
            "last_execution": self.last_execution,
        }


def requesting_user() -> str | None:
    """The user of the HTTP request being served, if any (jupyter_server keeps
    the handler in a context variable while it runs)."""
    try:
        from jupyter_server.base.call_context import CallContext

        handler = CallContext.get(CallContext.JUPYTER_HANDLER)
        user = getattr(handler, "current_user", None) if handler is not None else None
    except Exception:
        return None
    name = getattr(user, "username", None)
    return name if isinstance(name, str) and name else None


def idle_seconds(tracked: TrackedKernel) -> int:
    """How long the kernel had been idle when it went (0 if it was running)."""
    if tracked.state.status == BUSY:
        return 0
    return max(0, int((utcnow() - tracked.last_activity()).total_seconds()))


class EndedSessions(LoggingConfigurable):
    ended_retention = Integer(
        3600,
        help="""Seconds an ended kernel stays in `GET api/active-sessions/ended`.
        0 keeps none.""",
    ).tag(config=True)

    ended_max = Integer(
        200, help="At most this many ended kernels are kept (the oldest go first)."
    ).tag(config=True)

    @validate("ended_retention", "ended_max")
    def _check_not_negative(self, proposal: Any) -> int:
        if proposal.value < 0:
            raise TraitError(f"EndedSessions.{proposal.trait.name} must be 0 or more.")
        return proposal.value

    def __init__(self, on_ended: Callable[[EndedSession], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_ended = on_ended
        self._records: deque[EndedSession] = deque()  # newest first
        self._notes: dict[str, Note] = {}
        # Ended kernels by (reason, forced) since the server started (metrics).
        self.counts: Counter[tuple[str, bool]] = Counter()
        self._kernel_manager: Any = None
        self._original_shutdown: Any = None
        # Set when the registry stops without the server: kernels removed
        # from our view then have not ended.
        self.closed = False

    # -- why a kernel is about to go ------------------------------------------------

    def note(self, kernel_id: str, reason: str, by: str | None = None,
             forced: bool = False, replace: bool = False) -> bool:
        """Say why `kernel_id` is about to end; the first note stands (a cull
        or a kill goes through the kernel manager's shutdown too) unless
        `replace` (a kill after a shutdown that hung). True when taken."""
        if kernel_id in self._notes and not replace:
            return False
        self._notes[kernel_id] = Note(reason, by, forced, utcnow())
        return True

    def forget(self, kernel_id: str) -> None:
        """The kernel did not end after all (a shutdown that failed)."""
        self._notes.pop(kernel_id, None)

    def install(self, kernel_manager: Any) -> None:
        """Note every shutdown through the kernel manager, with who asked: the
        server's kernels and sessions routes, the culler and our own routes all
        call its `shutdown_kernel`."""
        original = getattr(kernel_manager, "shutdown_kernel", None)
        if original is None or self._kernel_manager is not None:
            return
        ended = self

        def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            taken = ended.note(kernel_id, SHUTDOWN, by=requesting_user())
            try:
                result = original(kernel_id, *args, **kwargs)
            except BaseException:
                if taken:
                    ended.forget(kernel_id)
                raise
            if not inspect.isawaitable(result):
                return result

            async def finish() -> Any:
                try:
                    return await result
                except BaseException:
                    if taken:
                        ended.forget(kernel_id)
                    raise

            return finish()

        kernel_manager.shutdown_kernel = shutdown_kernel
        self._kernel_manager, self._original_shutdown = kernel_manager, shutdown_kernel

    def uninstall(self) -> None:
        km, ours = self._kernel_manager, self._original_shutdown
        if km is not None and km.__dict__.get("shutdown_kernel") is ours:
            del km.shutdown_kernel  # the class's method shows again
        self._kernel_manager = self._original_shutdown = None

    # -- the record ---------------------------------------------------------------

    def changed(self, tracked: TrackedKernel, actions: tuple[str, ...]) -> None:
        """A `changes.Changes` listener: a removed kernel has ended."""
        if "removed" in actions and not self.closed:
            self._record(tracked)

    def _record(self, tracked: TrackedKernel) -> None:
        note = self._notes.pop(tracked.kernel_id, None) or Note(SHUTDOWN)
        exit_code = signal = None
        reason, by, forced, asked_at = note
        process_end = tracked.exit_reason()
        if process_end is not None and (asked_at is None or process_end[1].ended < asked_at):
            # The process had ended before anyone asked: that is why it is
            # gone (whoever removed it then is still `by`).
            reason, end = process_end
            exit_code, signal = end.exit_code, end.signal
        if tracked.process is None:
            return  # never seen running
        latest = tracked.state.history.latest
        record = EndedSession(
            session_id=tracked.kernel_id,
            display_name=tracked.display_name,
            kernel_name=tracked.kernel_name,
            notebook_path=tracked.notebook_path,
            session_mode=session_mode(tracked.bound),
            username=tracked.process.username,
            started=tracked.process.started,
            ended=utcnow(),
            reason=reason,
            forced=forced,
            by=by,
            exit_code=exit_code,
            signal=signal,
            idle_seconds=idle_seconds(tracked),
            last_execution=latest.to_json() if latest is not None else None,
            recorded=time.monotonic(),
        )
        self.counts[(reason, forced)] += 1
        self._records.appendleft(record)
        self._prune()
        try:
            self._on_ended(record)
        except Exception:
            self.log.exception("Active sessions: could not report an ended kernel")

    def _prune(self) -> None:
        horizon = time.monotonic() - self.ended_retention
        while self._records and (
            len(self._records) > self.ended_max or self._records[-1].recorded < horizon
        ):
            self._records.pop()

    def records(self) -> list[EndedSession]:
        """Newest first, within the retention."""
        self._prune()
        return list(self._records)
