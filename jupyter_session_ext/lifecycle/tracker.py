"""Following the server's kernel manager: which kernels exist, which process
each one runs, whether it answers.

The `KernelTracker` owns the tracked kernels: each one's record (state) and
channels (what listens to it), added and removed together. It never starts
kernels itself: it reconciles with `kernel_manager.list_kernel_ids()` on the
server's kernel action events, on a periodic tick and before a request is
answered, notices restarts by a change of process, sees each kernel's IOPub
(traffic/iopub.py) and asks it for kernel_info. Settings are read from the
registry through `TrackerSettings` at the moment they are used, so a change
at run time applies.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import Any, Protocol

from tornado.ioloop import PeriodicCallback

from .. import server_hooks
from ..state.changes import Changes
from ..state.durations import NotebookDurations
from ..state.kernel_state import BUSY, EXITED, OFFLINE, STARTING, KernelState
from ..state.record import MemoryLimits, TrackedKernel
from ..traffic.routing import MessageRouter
from . import process as kernel_process
from .channels import KernelChannels, read_published
from .jupyter_sessions import BoundSessions
from .remote import RemoteKernels

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


class TrackerSettings(Protocol):
    """What the tracker reads of the registry's configuration."""

    code_preview_length: int
    history_length: int
    max_pending: int
    kernel_info_timeout: float
    poll_interval: float
    show_initial_env: bool
    server_env: dict[str, str]
    secret_names: re.Pattern[str] | None


def _server_last_activity(km: Any) -> Any:
    try:
        return getattr(km, "last_activity", None)
    except Exception:
        # A kernel jupyter_server has listed but not stamped yet: its
        # `last_activity` trait has no value, and reading it raises.
        return None


class KernelTracker:
    def __init__(
        self,
        settings: TrackerSettings,
        kernel_manager: Any,
        session_manager: Any,
        event_logger: Any,
        changes: Changes,
        log: logging.Logger,
        limits: MemoryLimits | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits  # what a kernel's end asks of the memory limit
        self.durations = NotebookDurations()  # of every notebook, from any kernel
        changes.listen(self.durations.changed)
        self.kernel_manager = kernel_manager
        self.event_logger = event_logger
        self.changes = changes
        self.log = log
        self.kernels: dict[str, TrackedKernel] = {}
        self.channels: dict[str, KernelChannels] = {}
        unread = functools.partial(read_published, self.channels)
        self.router = MessageRouter(self.kernels, changes, kernel_process.current_cwd, unread)
        self.server_counts_connections = True  # websocket.counted_by_server, in app.py
        self.sessions = BoundSessions(session_manager, changes)
        self.remote = RemoteKernels(self.kernels, self.channels, changes, log)
        self._ticker: PeriodicCallback | None = None
        self._remote_check: asyncio.Future[Any] | None = None
        self._bound_check: asyncio.Future[Any] | None = None
        self._listening = False
        self._stopped = False
        self._watch_hook: server_hooks.MethodHook | None = None

    # -- lifecycle of the tracker -------------------------------------------------

    def start(self) -> None:
        """Follow the kernel manager from now on. Needs the running loop."""
        if self.event_logger is not None and not self._listening:
            self.event_logger.add_listener(
                schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action
            )
            self._listening = True
        if self._ticker is None:
            self._ticker = PeriodicCallback(
                self.tick, max(0.05, self.settings.poll_interval) * 1000
            )
            self._ticker.start()
        self.sessions.watch()
        if self._watch_hook is None:
            # IOPub rides on the server's activity watcher (traffic/iopub.py):
            # when the server starts watching a kernel anew, tap the new stream.
            self._watch_hook = server_hooks.after_start_watching_activity(
                self.kernel_manager, self._watching
            )
        self.sync()

    def _watching(self, kernel_id: str) -> None:
        channels = self.channels.get(kernel_id)
        if channels is None or channels.iopub is None:
            return
        try:
            channels.iopub.tap(server_hooks.activity_stream(channels.km))
        except Exception:
            self.log.exception("Active sessions: cannot tap IOPub of %s", kernel_id)
        if not channels.iopub.live.is_set():
            self._request_kernel_info(self.kernels[kernel_id])  # asks until IOPub is live

    def stop(self) -> None:
        """Stop following and forget every kernel. Safe unstarted, and twice."""
        self._stopped = True
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        for check in (self._remote_check, self._bound_check):
            if check is not None:
                check.cancel()
        self._remote_check = self._bound_check = None
        if self._listening and self.event_logger is not None:
            self.event_logger.remove_listener(
                schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action
            )
            self._listening = False
        if self._watch_hook is not None:
            self._watch_hook.uninstall()
            self._watch_hook = None
        self.sessions.unwatch()
        for kernel_id in list(self.kernels):
            self._remove(kernel_id)

    async def _on_kernel_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        # start/restart/shutdown/interrupt through the server: follow at once.
        # (A kernel's "start" event fires just before the kernel manager lists
        # it; the next sync catches it.)
        self.sync()
        if data.get("action") == "start":
            await asyncio.sleep(0)
            self.sync()
        tracked = self.kernels.get(data.get("kernel_id") or "")
        if (
            tracked is not None
            and tracked.remote
            and data.get("action") == "restart"
            and data.get("status") == "success"
        ):
            # No process to watch for a remote kernel: the server's own event
            # says it was restarted.
            tracked.restart_count += 1
            self._on_process_launched(tracked, "restarted")

    def tick(self) -> None:
        """The periodic check: deaths, restarts and silences nobody reported."""
        try:
            self.sync()
            self._retry_kernel_info()
        except Exception:
            self.log.exception("Active sessions: periodic check failed")
        if self._bound_check is None or self._bound_check.done():
            self._bound_check = asyncio.ensure_future(self.sessions.refresh(self.kernels))
        if self._remote_check is None or self._remote_check.done():
            unwatched = self.remote.unwatched()
            if unwatched:
                self._remote_check = asyncio.ensure_future(self.remote.refresh(unwatched))

    # -- following the kernel manager ------------------------------------------------

    def sync(self, processes: bool = True) -> None:
        """Reconcile with the kernel manager: add new kernels, drop removed ones,
        and (`processes`) notice restarts (new process) and deaths. Readers
        leave the processes to the periodic check: asking each process of
        100 kernels on every read was a third of what the list cost."""
        if self._stopped:
            return
        live = server_hooks.kernel_managers(self.kernel_manager)
        for kernel_id in list(self.kernels):
            if kernel_id not in live:
                self._remove(kernel_id)
        for kernel_id, km in live.items():
            channels = self.channels.get(kernel_id)
            if channels is None or channels.km is not km:
                if channels is not None:
                    self._remove(kernel_id)
                self._add(kernel_id, km)
            elif processes:
                self._check_process(self.kernels[kernel_id], channels)

    def drain(self, kernel_id: str) -> None:
        """Read what the kernel published and we did not yet: it is about to go."""
        read_published(self.channels, kernel_id)
        self.router.settle(kernel_id)

    def _add(self, kernel_id: str, km: Any) -> None:
        tracked: TrackedKernel
        state = KernelState(
            track_message_type=getattr(self.kernel_manager, "track_message_type", None)
            or (lambda t: True),
            code_preview_length=self.settings.code_preview_length,
            history_length=self.settings.history_length,
            max_pending=self.settings.max_pending,
            expected_seconds=lambda cell_id: self.durations.expected_for(tracked, cell_id),
        )
        channels = KernelChannels(km)
        tracked = TrackedKernel(
            kernel_id,
            state,
            remote=channels.remote,
            server_last_activity=functools.partial(_server_last_activity, km),
            limits=self.limits,
        )
        self.kernels[kernel_id] = tracked
        self.sessions.stale = True  # its sessions are not known yet
        self.channels[kernel_id] = channels
        self.log.debug("Active sessions: tracking kernel %s", kernel_id)
        if hasattr(km, "add_restart_callback") and not tracked.remote:
            # jupyter_client's restarter calls this when it finds the process
            # dead, just before starting another: a crash, not a client's restart.
            channels.restart_callback = lambda: tracked.note_end(auto_restart=True)
            try:
                km.add_restart_callback(channels.restart_callback, "restart")
            except Exception:
                channels.restart_callback = None
        self._on_process_launched(tracked, "added")

    def _remove(self, kernel_id: str) -> None:
        tracked = self.kernels.pop(kernel_id, None)
        channels = self.channels.pop(kernel_id, None)
        if tracked is None or channels is None:
            return
        channels.close()
        if channels.restart_callback is not None:
            try:
                channels.km.remove_restart_callback(channels.restart_callback, "restart")
            except Exception:
                pass  # the kernel manager is gone with its restarter
            channels.restart_callback = None
        self.changes.changed(tracked, "removed")
        self.log.debug("Active sessions: kernel %s removed", kernel_id)

    def _check_process(self, tracked: TrackedKernel, channels: KernelChannels) -> None:
        running = kernel_process.is_running(channels.km)
        pid = kernel_process.kernel_pid(channels.km)
        if running and pid is not None and pid != tracked.pid:
            # A new process for the same kernel id: restarted (by a client or
            # by jupyter_client's auto-restarter after a crash; that one's log
            # line does not name the kernel, this one does).
            self.log.info(
                "Active sessions: kernel %s runs a new process (pid %s, was %s)",
                *(tracked.kernel_id, pid, tracked.pid),
            )
            tracked.restart_count += 1
            self._on_process_launched(tracked, "restarted")
            if not tracked.remote:
                channels.rewatch_if_stale(self.kernel_manager, tracked.kernel_id, self.log)
        elif running is False and tracked.state.status != EXITED:
            channels.close()
            if tracked.on_exit():
                self.changes.changed(tracked, "exited")

    def _on_process_launched(self, tracked: TrackedKernel, action: str) -> None:
        channels = self.channels[tracked.kernel_id]
        settings = self.settings
        km = channels.km
        process = kernel_process.snapshot(
            km,
            server_env=settings.server_env,
            secret_names=settings.secret_names,
            include_env=settings.show_initial_env,
        )
        channels.close()  # nothing the last process said is listened to
        # (How the last process ended is read through the old handle first.)
        tracked.on_launch(
            process,
            kernel_process.current_cwd(process.pid) or process.launch_cwd,
            kernel_process.spec_facts(km),
            channels,
        )
        channels.popen = server_hooks.launched_process(km)
        if tracked.remote:
            # The gateway's websocket traffic tells about a remote kernel; when
            # no client carries it, the gateway's kernel model does (tick).
            tracked.state.on_reported_state(getattr(km, "execution_state", None))
            self.changes.changed(tracked, action)
            return
        self.changes.changed(tracked, action)
        if kernel_process.is_running(km) is False:
            tracked.state.on_exit()
            self.changes.changed(tracked, "exited")
            return
        try:
            channels.listen(functools.partial(self.router.on_iopub, tracked), self.log)
        except Exception:
            self.log.warning(
                "Active sessions: cannot subscribe to IOPub of %s", tracked.kernel_id, exc_info=True
            )
        self._request_kernel_info(tracked)

    # -- kernel_info ---------------------------------------------------------------

    def _request_kernel_info(self, tracked: TrackedKernel) -> None:
        channels = self.channels.get(tracked.kernel_id)
        if channels is None:
            return
        pid = tracked.pid

        def answered(content: dict[str, Any]) -> None:
            if tracked.pid != pid or self.kernels.get(tracked.kernel_id) is not tracked:
                return  # answer from a process that has since been replaced
            self.router.on_kernel_info_reply(tracked, content)

        def silent() -> None:
            # Busy kernels answer shell requests only after the running cell;
            # that is not being offline.
            if (
                tracked.pid == pid
                and kernel_process.is_running(channels.km) is not False
                and tracked.state.status != BUSY
                and tracked.state.on_unresponsive()
            ):
                self.changes.changed(tracked, "status")

        channels.ask_kernel_info(
            self.settings.kernel_info_timeout, answered, silent, self.log, tracked.kernel_id
        )

    def _retry_kernel_info(self) -> None:
        for kernel_id, tracked in self.kernels.items():
            if (
                tracked.state.status in (STARTING, OFFLINE)
                and self.channels[kernel_id].iopub is not None
            ):
                self._request_kernel_info(tracked)

    # -- what the kernel manager counts ------------------------------------------------

    def connections(self, kernel_id: str) -> int:
        tracked = self.kernels.get(kernel_id)
        ours = tracked.clients if tracked is not None else 0  # what our connection class saw
        if (tracked is not None and tracked.remote) or not self.server_counts_connections:
            return ours
        count = server_hooks.connection_count(self.kernel_manager, kernel_id)  # its model's
        return count if count is not None else ours
