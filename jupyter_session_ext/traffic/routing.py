"""Where observed kernel traffic reaches a kernel's state.

The observers (`iopub.py` for IOPub, `websocket.py` for the kernel
websockets and the gateway's relayed stream, `server_execution.py` for
executions asked of the server over HTTP) hand deserialized messages to
a `MessageRouter`, which finds the kernel's record, feeds its `KernelState`
and reports what became visible to `Changes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..state.changes import Changes
from ..state.kernel_state import BUSY, IDLE
from ..state.queue import entry_from_server, preview
from ..state.record import TrackedKernel
from ..state.timestamps import utcnow
from ..untrusted import message

# Seconds between reads of a kernel's working directory while cells queue up.
CWD_EVERY = 1.0


class MessageRouter:
    def __init__(
        self,
        kernels: Mapping[str, TrackedKernel],
        changes: Changes,
        current_cwd: Callable[[int | None], str | None],
        read_published: Callable[[str], None] = lambda kernel_id: None,
    ) -> None:
        self._kernels = kernels  # owned by the KernelTracker
        self._changes = changes
        self._current_cwd = current_cwd  # the process's working directory, now
        self._read_published = read_published  # what a kernel's IOPub holds unread

    def on_iopub(self, tracked: TrackedKernel, msg: Any) -> None:
        before = self._changes.before(tracked)
        changed = tracked.state.on_iopub(msg)
        self._changes.since(tracked, before)
        if not changed:
            return
        if before.status == BUSY and tracked.state.status == IDLE and not tracked.remote:
            # An execution finished: the cell may have changed directory. Read
            # after the last cell of a run of queued ones, and within such a
            # run at most every CWD_EVERY s (a readlink is a good part of
            # what a short cell costs the server).
            now = time.monotonic()
            if len(tracked.state.queue) and now - tracked.cwd_read_at < CWD_EVERY:
                return
            tracked.cwd_read_at = now
            cwd = self._current_cwd(tracked.pid)
            if cwd and cwd != tracked.working_directory:
                tracked.working_directory = cwd
                self._changes.changed(tracked, "working_directory")

    def on_kernel_info_reply(self, tracked: TrackedKernel, content: dict[str, Any]) -> None:
        """The current process answered kernel_info: it is up."""
        before = self._changes.before(tracked)
        tracked.state.on_kernel_info_reply(content)
        self._changes.since(tracked, before)
        tracked.ready.set()
        self._changes.changed(tracked, "kernel_info")

    # -- the kernel websockets (websocket.py) ---------------------------------------

    def on_client_message(
        self, kernel_id: str, channel: str | None, msg: Any, username: str | None
    ) -> None:
        """A client sent `execute_request` (shell) or `input_reply` (stdin)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        msg = message(msg)
        msg_type = msg.header.msg_type
        before = self._changes.before(tracked)
        if channel == "shell" and msg_type == "execute_request":
            tracked.state.on_execute_request(msg, username=username)
        elif channel == "stdin" and msg_type == "input_reply":
            tracked.state.on_input_reply()
        self._changes.since(tracked, before)

    def on_kernel_message(self, kernel_id: str, channel: str, msg: Any) -> None:
        """The kernel sent `execute_reply` (shell) or `input_request` (stdin)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        msg = message(msg)
        msg_type = msg.header.msg_type
        if msg_type == "execute_reply" and tracked.state.queue.is_pending(msg.parent.msg_id):
            # The kernel published busy (and idle) on IOPub before it replied,
            # but the server reads IOPub on a socket of its own, and under load
            # the reply can come first: read what is there, so that the reply
            # ends a run whose start (time, memory) was seen.
            self._read_published(kernel_id)
        before = self._changes.before(tracked)
        if channel == "shell" and msg_type == "execute_reply":
            tracked.state.on_execute_reply(msg)
        elif channel == "stdin" and msg_type == "input_request":
            tracked.state.on_input_request(msg)
        self._changes.since(tracked, before)

    # -- executions asked of the server over HTTP (server_execution.py) -----------

    def on_server_execute(
        self,
        kernel_id: str,
        via: str,
        request_id: str,
        code: str,
        cell_id: str | None,
        code_hash: str | None = None,
    ) -> None:
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        state = tracked.state
        entry = entry_from_server(
            via, request_id, code, cell_id, state.code_preview_length, utcnow(), code_hash
        )
        before = self._changes.before(tracked)
        state.submit(entry)
        self._changes.since(tracked, before)

    def on_server_execute_code(self, kernel_id: str, via: str, request_id: str, code: str) -> None:
        """The code of a request `on_server_execute` had only a hash of."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        text, truncated = preview(code, tracked.state.code_preview_length)
        if tracked.state.queue.describe(via, request_id, text, truncated):
            self._changes.changed(tracked, "queue")

    def on_server_execute_cancelled(self, kernel_id: str, via: str, request_id: str) -> None:
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        before = self._changes.before(tracked)
        tracked.state.queue.withdraw(via, request_id)
        self._changes.since(tracked, before)

    def note_ok_reply(self, kernel_id: str, reply: Callable[[], Any]) -> None:
        """The last ok execute_reply the kernel sent, not read (IOPub tells)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is not None:
            tracked.unread_reply = reply

    def settle(self, kernel_id: str) -> None:
        """Before the kernel goes: a cell whose ok reply came and whose idle
        was not read yet (IOPub's socket closes as the shutdown begins) is
        finished from its reply."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None or tracked.unread_reply is None:
            return
        reply, tracked.unread_reply = tracked.unread_reply, None
        active = tracked.state.queue.active
        if active is not None:
            msg = message(reply())
            if msg.parent.msg_id == active.msg_id:
                self.on_kernel_message(kernel_id, "shell", msg)

    def has_pending(self, kernel_id: str) -> bool:
        """Whether requests to the kernel wait that it has not begun, as far as
        IOPub told (a cheap test, before a reply is parsed further)."""
        tracked = self._kernels.get(kernel_id)
        return tracked is not None and len(tracked.state.queue) > 0

    def in_a_run(self, kernel_id: str) -> bool:
        """Whether two or more requests to the kernel are sent and unfinished
        (as far as IOPub told): a run of queued cells, whose messages need
        not each leave the server at once. Asked per message sent to a
        client (websocket.py)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return False
        queue = tracked.state.queue
        return len(queue) + (queue.active is not None) >= 2

    def is_pending(self, kernel_id: str, msg_id: str | None) -> bool:
        tracked = self._kernels.get(kernel_id)
        return tracked is not None and tracked.state.queue.is_pending(msg_id)

    def on_connections_changed(self, kernel_id: str, delta: int = 0) -> None:
        tracked = self._kernels.get(kernel_id)
        if tracked is not None:
            tracked.clients = max(0, tracked.clients + delta)
            self._changes.changed(tracked, "connected")

    def on_gateway_message(self, kernel_id: str, msg: Any) -> None:
        """A message from a remote kernel, as the gateway's websocket relays it
        (IOPub included: there is no other way to see a remote kernel)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        msg = message(msg)
        channel = msg.channel
        header = msg.header
        if channel == "iopub":
            if tracked.first_sight(header.msg_id):
                self.on_iopub(tracked, msg)
        elif channel == "shell" and header.msg_type == "kernel_info_reply":
            self.on_kernel_info_reply(tracked, msg.content)
        else:
            self.on_kernel_message(kernel_id, channel or "", msg)
