"""Kernels that are gone, and why: the record behind
`GET api/active-sessions/ended` and the `ended` event.

Why a kernel left is known only just before it goes: a client's shutdown (and
who asked), the culler, our kill route, the server stopping. Those paths leave
a note here (`note`); the kernel's removal (a `removed` change) turns the note,
or what the process said of its end, into a record (`state/ended.py`).
Records are kept for `ended_retention` seconds, at most `ended_max` of them.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from traitlets import Integer, TraitError, validate
from traitlets.config import LoggingConfigurable

from .. import server_hooks
from ..state.ended import SHUTDOWN, EndedKernel, Note, ended_record
from ..state.history import FinishedExecution
from ..state.record import TrackedKernel, UnknownKernel
from ..state.timestamps import utcnow


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listeners: list[Callable[[EndedKernel], None]] = []
        self._records: deque[EndedKernel] = deque()  # newest first
        self._notes: dict[str, Note] = {}
        # Ended kernels by (reason, forced) since the server started (metrics).
        self.counts: Counter[tuple[str, bool]] = Counter()
        self._hook: server_hooks.MethodHook | None = None
        self._before: Callable[[str], None] | None = None
        # Set when the registry stops without the server: kernels removed
        # from our view then have not ended.
        self.closed = False

    def listen(self, listener: Callable[[EndedKernel], None]) -> None:
        """Call `listener` with each new record (the event, the store)."""
        self._listeners.append(listener)

    # -- why a kernel is about to go ------------------------------------------------

    def note(
        self,
        kernel_id: str,
        reason: str,
        by: str | None = None,
        forced: bool = False,
        replace: bool = False,
    ) -> bool:
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

    def install(self, kernel_manager: Any, before: Callable[[str], None] | None = None) -> None:
        """Note every shutdown through the kernel manager, with who asked: the
        server's kernels and sessions routes, the culler and our own routes all
        call its `shutdown_kernel`. `before(kernel_id)` runs first (the
        tracker reads what the kernel said last)."""
        self._before = before
        if self._hook is None:
            self._hook = server_hooks.around_shutdown_kernel(
                kernel_manager, self._shutting_down, self._not_shut_down
            )

    def _shutting_down(self, kernel_id: str) -> bool:
        if self._before is not None:
            try:
                self._before(kernel_id)
            except Exception:
                self.log.exception("Active sessions: could not read %s before it ends", kernel_id)
        return self.note(kernel_id, SHUTDOWN, by=server_hooks.requesting_user())

    def _not_shut_down(self, kernel_id: str, taken: bool) -> None:
        if taken:
            self.forget(kernel_id)

    def uninstall(self) -> None:
        if self._hook is not None:
            self._hook.uninstall()
            self._hook = None

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
        if process_end is not None and (
            asked_at is None or process_end[1].ended < asked_at or process_end[1].stuck
        ):
            # The process had ended before anyone asked, or never answered
            # and was found silent: that is why it is gone (whoever removed
            # it then is still `by`).
            reason, end = process_end
            exit_code, signal = end.exit_code, end.signal
        record = ended_record(
            tracked,
            reason,
            by=by,
            forced=forced,
            exit_code=exit_code,
            signal=signal,
            last_words=tracked.last_words(),
        )
        if record is None:
            return  # never seen running
        self.counts[(reason, forced)] += 1
        self._records.appendleft(record)
        self._prune()
        for listener in self._listeners:
            try:
                listener(record)
            except Exception:
                self.log.exception("Active sessions: could not report an ended kernel")

    def _prune(self) -> None:
        horizon = time.monotonic() - self.ended_retention
        while self._records and (
            len(self._records) > self.ended_max or self._records[-1].recorded < horizon
        ):
            self._records.pop()

    def restore(self, records: list[EndedKernel]) -> None:
        """Records read back from the store (kernels of earlier runs, or of
        this user's other servers): merged in by when they ended."""
        known = {r.session_id for r in self._records}
        fresh = [r for r in records if r.session_id not in known]
        if not fresh:
            return
        merged = sorted([*self._records, *fresh], key=lambda r: r.ended, reverse=True)
        self._records = deque(merged)
        self._prune()

    def history(
        self, kernel_id: str, limit: int | None = None
    ) -> tuple[int, list[FinishedExecution]]:
        """An ended kernel's history, while its record is kept: (executions it
        finished, the last `limit` of them); UnknownKernel otherwise."""
        self._prune()
        record = next((r for r in self._records if r.session_id == kernel_id), None)
        if record is None:
            raise UnknownKernel(kernel_id)
        executions = list(record.executions)
        return record.total, executions if limit is None else executions[:limit]

    def records(self) -> list[EndedKernel]:
        """Newest first, within the retention."""
        self._prune()
        return list(self._records)
