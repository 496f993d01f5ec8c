"""What a kernel's own messages say about it: status, busy/idle timers,
execution queue (`queue.py`), history (`history.py`) and the cached
kernel_info.

Plain Python, like all of `state/`: no tornado, ZMQ, jupyter_client or
jupyter_server. The traffic observers (`traffic/`) feed it deserialized
Jupyter messages through `traffic/routing.py`; the tests feed it recorded
ones. Time comes from injectable clocks so timers are testable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..untrusted import Header, integer, json_value, mapping, message, text
from .history import ABORTED, ERROR, OUTCOMES, ExecutionHistory, outcome_from_iopub
from .message_types import TrackedTypes, default_track_message_type
from .queue import (
    ExecutionQueue,
    QueueEntry,
    entry_from_parent,
    entry_from_request,
    preview,
)
from .timestamps import utcnow

# The statuses (docs: "Status").
UNINITIALIZED = "uninitialized"
STARTING = "starting"
READY = "ready"
IDLE = "idle"
BUSY = "busy"
OFFLINE = "offline"
EXITED = "exited"
STATUSES = (UNINITIALIZED, STARTING, READY, IDLE, BUSY, OFFLINE, EXITED)

# What a kernel may say of itself is kept up to these sizes: an exception's
# class name, an input() prompt, and its kernel_info reply (a real one is
# about 2 KB: the banner, language_info, help links).
ERROR_NAME_MAX = 200
PROMPT_MAX = 1000
KERNEL_INFO_SIZE = 64 * 1024
KERNEL_INFO_DEPTH = 8
# An execution count is shown and sent to browsers as a JSON number.
COUNT_MAX = 2**53


def _count(value: Any) -> int | None:
    return integer(value, 0, COUNT_MAX)


class KernelState:
    """The status machine of one kernel with its timers and queue.

    Every `on_*` method returns True when something visible changed, so the
    owner can emit one event per change.
    """

    def __init__(
        self,
        *,
        track_message_type: Callable[[str | None], bool] = default_track_message_type,
        code_preview_length: int = 1000,
        history_length: int = 100,
        max_pending: int = 1000,
        expected_seconds: Callable[[str | None], float | None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._tracked = TrackedTypes(track_message_type)
        self.code_preview_length = code_preview_length
        self._monotonic = monotonic
        self._wallclock = wallclock
        self.status = UNINITIALIZED
        self.queue = ExecutionQueue(max_pending)
        # Kept across restarts: it is the kernel's history, not the process's.
        self.history = ExecutionHistory(history_length)
        # A cell's expected duration: its last run here, or the owner's answer.
        self._expected_seconds = expected_seconds or self.history.expected_seconds
        self.kernel_info: dict[str, Any] = {}
        # Whether the current process has told of any request it handled
        # (busy or idle on IOPub, whoever asked): it got past starting, even
        # if our own kernel_info waits behind a cell that then crashes it.
        self.has_served = False
        self.execution_count: int | None = None
        # Executions the kernel started, from any client, over the kernel's life
        # (restarts included): a counter for metrics.
        self.executions = 0
        self.awaiting_input: dict[str, Any] | None = None
        self.last_activity: datetime = wallclock()
        # Monotonic instants of the last transition into busy / into idle-or-ready.
        self._busy_since: float | None = None
        self._idle_since: float | None = None
        self._status_before_offline: str | None = None

    # -- timers -----------------------------------------------------------

    def busy_seconds(self) -> int:
        if self.status != BUSY or self._busy_since is None:
            return 0
        return max(0, int(self._monotonic() - self._busy_since))

    def idle_seconds(self) -> int:
        if self.status not in (IDLE, READY) or self._idle_since is None:
            return 0
        return max(0, int(self._monotonic() - self._idle_since))

    def _set_status(self, status: str) -> bool:
        if status == self.status:
            return False
        now = self._monotonic()
        if status == BUSY:
            self._busy_since = now
        elif status in (IDLE, READY) and self.status not in (IDLE, READY):
            self._idle_since = now
        self.status = status
        return True

    # -- lifecycle --------------------------------------------------------

    def on_launch(self) -> bool:
        """A kernel process was (re)started: nothing it ran before survives."""
        self.kernel_info = {}
        self.has_served = False
        self.execution_count = None
        self.awaiting_input = None
        self.queue.clear()
        self._status_before_offline = None
        return self._set_status(STARTING)

    def on_kernel_info_reply(self, content: dict[str, Any]) -> bool:
        self.kernel_info = json_value(
            mapping(content), depth=KERNEL_INFO_DEPTH, size=KERNEL_INFO_SIZE
        )
        self.last_activity = self._wallclock()
        if self.status == OFFLINE:
            return self._leave_offline() or True
        if self.status in (UNINITIALIZED, STARTING):
            return self._set_status(READY) or True
        return True

    def on_reported_state(self, execution_state: str | None) -> bool:
        """An execution_state reported by someone else: a gateway's kernel model,
        for a remote kernel whose traffic no client carries right now."""
        if execution_state == "busy":
            return self._set_status(BUSY)
        if execution_state == "idle":
            if self.status in (UNINITIALIZED, STARTING):
                return self._set_status(READY)
            return self._set_status(IDLE) if self.status != READY else False
        if execution_state == "starting":
            return self._set_status(STARTING)
        if execution_state == "dead":
            return self.on_exit()
        return False

    def on_unresponsive(self) -> bool:
        """The process is alive but did not answer in time."""
        if self.status in (OFFLINE, EXITED):
            return False
        self._status_before_offline = self.status
        return self._set_status(OFFLINE)

    def _leave_offline(self) -> bool:
        previous = self._status_before_offline or IDLE
        self._status_before_offline = None
        if previous in (UNINITIALIZED, STARTING):
            previous = READY if self.kernel_info else STARTING
        return self._set_status(previous)

    def on_exit(self) -> bool:
        """The process is gone: what was queued will never run."""
        self.awaiting_input = None
        self.queue.clear()
        return self._set_status(EXITED)

    # -- traffic ------------------------------------------------------------

    def on_iopub(self, msg: Any) -> bool:
        """Feed one IOPub message (header, parent_header, content): anything a
        kernel publishes, shaped first."""
        msg = message(msg)
        header, parent = msg.header, msg.parent
        msg_type = header.msg_type
        parent_type = parent.msg_type
        changed = False
        if self.status == OFFLINE:
            changed = self._leave_offline()
        now = self._wallclock()  # one read for all this message does
        if self._tracked(msg_type) or self._tracked(parent_type) or self.status == BUSY:
            self.last_activity = now
        if msg_type == "status":
            changed = self._on_status(msg.content, parent, header, now) or changed
        elif msg_type == "execute_input":
            changed = self._on_execute_input(msg.content, parent, header, now) or changed
        elif msg_type == "error":
            self.queue.note_error(parent.msg_id, _error_name(msg.content))
        return changed

    def on_execute_request(self, msg: Any, username: str | None = None) -> bool:
        """An execute_request on its way to the kernel: pending until it starts.
        `username` is the authenticated user who sent it, when known."""
        entry = entry_from_request(msg, username, self.code_preview_length, self._wallclock())
        return entry is not None and self.submit(entry)

    def submit(self, entry: QueueEntry) -> bool:
        """A request on its way (queue.py makes entries: `entry_from_*`)."""
        entry.expected_seconds = self._expected_seconds(entry.cell_id)
        before = len(self.queue)
        self.queue.submit(entry)
        return len(self.queue) != before

    def on_execute_reply(self, msg: Any) -> bool:
        """The kernel answered an execute_request (ok, error or aborted)."""
        msg = message(msg)
        content = msg.content
        count = _count(content.get("execution_count"))
        if count is not None and content.get("status") == "ok":
            # Never back: the replies come on another socket than IOPub, and
            # reading IOPub first (for the reply's run) may have read the
            # next cell's execute_input already. A process only counts up.
            if self.execution_count is None or count > self.execution_count:
                self.execution_count = count
        msg_id = msg.parent.msg_id
        if not msg_id:
            return False
        status = content.get("status")
        status = status if status in OUTCOMES else ERROR
        ename = text(content.get("ename"), ERROR_NAME_MAX) if status == ERROR else None
        entry = self.queue.finish(msg_id)
        if entry is None:
            # IOPub's idle came first and guessed the outcome: the reply says.
            self.history.amend(msg_id, status, ename)
            return False
        if entry.execution_count is None and count is not None and status != ABORTED:
            # The reply overtook the execute_input on IOPub (read by another
            # socket): the count is in the reply too.
            entry.execution_count = count
        self.history.record(
            entry,
            self._wallclock(),
            status,
            ename,
            kernel_ended=msg.header.date,
        )
        return True

    def on_input_request(self, msg: Any) -> bool:
        """The kernel waits on stdin (`input()`, `getpass()`)."""
        content = message(msg).content
        self.awaiting_input = {
            "prompt": text(content.get("prompt"), PROMPT_MAX) or "",
            "password": content.get("password") is True,
        }
        # A kernel asking for input is executing, even if its IOPub "busy"
        # (another socket) has not been read yet.
        if self.status in (READY, IDLE):
            self._set_status(BUSY)
        return True

    def on_input_reply(self) -> bool:
        """A client answered the kernel's input_request."""
        if self.awaiting_input is None:
            return False
        self.awaiting_input = None
        return True

    def _on_status(
        self,
        content: dict[str, Any],
        parent: Header,
        header: Header,
        now: datetime,
    ) -> bool:
        state = content.get("execution_state")
        parent_type = parent.msg_type
        if state == "starting":
            return self.on_launch()
        if state in ("busy", "idle"):
            self.has_served = True
        if not self._tracked(parent_type):
            # Status for kernel_info, comm_info...: not user activity.
            return False
        if state == "busy":
            changed = self._set_status(BUSY)
            if parent_type == "execute_request" and parent.msg_id:
                started = self.queue.start(
                    parent.msg_id,
                    now=now,
                    fallback=lambda: self._entry_from_parent(parent, ""),
                )
                if started is not None and started.kernel_started is None:
                    started.kernel_started = header.date
                changed = changed or started is not None
            return changed
        if state == "idle":
            # Only the end of what runs ends the busy period: an idle for
            # another request (a subshell's, say) leaves the running cell busy.
            active = self.queue.active
            changed = False
            if active is None or active.msg_id == parent.msg_id:
                changed = self._set_status(IDLE)
            if parent.msg_id:
                entry = self.queue.finish(parent.msg_id)
                if entry is not None:
                    self.history.record(
                        entry,
                        now,
                        *outcome_from_iopub(entry),
                        kernel_ended=header.date,
                    )
                    changed = True
            if self.awaiting_input is not None:
                self.awaiting_input = None
                changed = True
            return changed
        return False

    def _on_execute_input(
        self,
        content: dict[str, Any],
        parent: Header,
        header: Header,
        now: datetime,
    ) -> bool:
        msg_id = parent.msg_id
        count = _count(content.get("execution_count"))
        if count is not None:
            self.execution_count = count
        if not msg_id:
            return False
        code = content.get("code")
        code = code if isinstance(code, str) else ""
        self.executions += 1
        entry = self.queue.start(
            msg_id,
            now=now,
            execution_count=count,
            fallback=lambda: self._entry_from_parent(parent, code),
        )
        if entry is not None:
            entry.input_seen = True
            if entry.kernel_started is None:
                entry.kernel_started = header.date
            if not entry.code and code:
                entry.code, entry.code_truncated = preview(code, self.code_preview_length)
            self.queue.adopt(entry, code)
        return True

    def _entry_from_parent(self, parent: Header, code: str) -> QueueEntry:
        return entry_from_parent(parent, code, self.code_preview_length, self._wallclock())


def _error_name(content: dict[str, Any]) -> str:
    """The class name of an error a kernel reported ("" when it said none)."""
    return text(content.get("ename"), ERROR_NAME_MAX) or ""
