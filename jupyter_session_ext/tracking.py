"""Following the server's kernel manager: which kernels exist, which process
each one runs, whether it answers.

The `KernelTracker` owns the tracked kernels. It never starts kernels itself:
it reconciles with `kernel_manager.list_kernel_ids()` on the server's kernel
action events, on a periodic tick and before a request is answered, notices
restarts by a change of process, sees each kernel's IOPub (iopub_traffic.py)
and asks it for kernel_info. Settings are read from the registry through
`TrackerSettings` at the moment they are used, so a change at run time applies.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import Any, Protocol

from jupyter_core.utils import ensure_async
from tornado.ioloop import PeriodicCallback

from . import kernel_process
from .changes import Changes
from .iopub_traffic import IOPubObserver, kernel_info_when_live, on_current_ports
from .message_routing import MessageRouter
from .models import JUPYTER_SESSION_FIELDS, TrackedKernel
from .session_state import BUSY, EXITED, OFFLINE, STARTING, SessionState

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


class TrackerSettings(Protocol):
    """What the tracker reads of the registry's configuration."""

    code_preview_length: int
    history_length: int
    kernel_info_timeout: float
    poll_interval: float
    show_initial_env: bool
    server_env: dict[str, str]
    secret_names: re.Pattern[str] | None


class KernelTracker:
    def __init__(
        self,
        settings: TrackerSettings,
        kernel_manager: Any,
        session_manager: Any,
        event_logger: Any,
        changes: Changes,
        log: logging.Logger,
    ) -> None:
        self.settings = settings
        self.kernel_manager = kernel_manager
        self.session_manager = session_manager
        self.event_logger = event_logger
        self.changes = changes
        self.log = log
        self.kernels: dict[str, TrackedKernel] = {}
        self.router = MessageRouter(self.kernels, changes)
        self._ticker: PeriodicCallback | None = None
        self._remote_check: asyncio.Future[Any] | None = None
        self._bound_check: asyncio.Future[Any] | None = None
        # JUPYTER_SESSION_FIELDS of the Jupyter sessions bound to each kernel, as
        # last seen: notebooks opened, renamed or closed are changes too.
        self._bound_seen: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._listening = False
        self._stopped = False
        self._watch_hook: Any = None  # our wrapper of start_watching_activity

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
        self._hook_activity_watcher()
        self.sync()

    def _hook_activity_watcher(self) -> None:
        """IOPub rides on the server's activity watcher (iopub_traffic.py): when
        the server starts watching a kernel (a pending kernel coming up, a
        restart on new ports), tap the new stream."""
        km = self.kernel_manager
        original = getattr(km, "start_watching_activity", None)
        if original is None or self._watch_hook is not None:
            return
        tracker = self

        def start_watching_activity(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            result = original(kernel_id, *args, **kwargs)
            tracked = tracker.kernels.get(kernel_id)
            if tracked is not None and tracked.iopub is not None:
                try:
                    tracked.iopub.tap(getattr(tracked.km, "_activity_stream", None))
                except Exception:
                    tracker.log.exception("Active sessions: cannot tap IOPub of %s", kernel_id)
                if not tracked.iopub.live.is_set():
                    tracker._request_kernel_info(tracked)  # asks until IOPub is live
            return result

        km.start_watching_activity = start_watching_activity
        self._watch_hook = start_watching_activity

    def _unhook_activity_watcher(self) -> None:
        hook, self._watch_hook = self._watch_hook, None
        if hook is not None and self.kernel_manager.__dict__.get("start_watching_activity") is hook:
            del self.kernel_manager.start_watching_activity  # the class's method shows again

    def stop(self) -> None:
        """Stop following and forget every kernel. Safe on a tracker that was
        never started, and twice."""
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
        self._unhook_activity_watcher()
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
            self._bound_check = asyncio.ensure_future(self.bound_sessions())
        if self._remote_check is None or self._remote_check.done():
            quiet = [t for t in self.kernels.values() if t.remote and t.clients == 0
                     or t.remote and t.state.status == STARTING]
            if quiet:
                self._remote_check = asyncio.ensure_future(self._refresh_remote(quiet))

    async def _refresh_remote(self, kernels: list[TrackedKernel]) -> None:
        """Ask the gateway how remote kernels nobody is watching are doing."""
        for tracked in kernels:
            try:
                await tracked.km.refresh_model()
            except Exception:
                self.log.debug("Active sessions: gateway model of %s not refreshed",
                               tracked.kernel_id, exc_info=True)
                continue
            if self.kernels.get(tracked.kernel_id) is not tracked:
                continue
            before = self.changes.before(tracked)
            tracked.state.on_reported_state(getattr(tracked.km, "execution_state", None))
            self.changes.since(tracked, before)
            if tracked.state.status not in (STARTING, OFFLINE):
                tracked.ready.set()

    # -- following the kernel manager ------------------------------------------------

    def sync(self) -> None:
        """Reconcile with the kernel manager: add new kernels, drop removed ones,
        notice restarts (new process) and deaths."""
        if self._stopped:
            return
        live = set(self.kernel_manager.list_kernel_ids())
        for kernel_id in list(self.kernels):
            if kernel_id not in live:
                self._remove(kernel_id)
        for kernel_id in live:
            try:
                km = self.kernel_manager.get_kernel(kernel_id)
            except KeyError:
                continue
            tracked = self.kernels.get(kernel_id)
            if tracked is None or tracked.km is not km:
                if tracked is not None:
                    self._remove(kernel_id)
                self._add(kernel_id, km)
            else:
                self._check_process(tracked)

    def _add(self, kernel_id: str, km: Any) -> None:
        state = SessionState(
            track_message_type=getattr(self.kernel_manager, "track_message_type", None)
            or (lambda t: True),
            code_preview_length=self.settings.code_preview_length,
            history_length=self.settings.history_length,
        )
        tracked = TrackedKernel(kernel_id, km, state)
        self.kernels[kernel_id] = tracked
        self.log.debug("Active sessions: tracking kernel %s", kernel_id)
        if hasattr(km, "add_restart_callback") and not tracked.remote:
            # jupyter_client's restarter calls this when it finds the process
            # dead, just before starting another: a crash, not a client's restart.
            tracked.restart_callback = lambda: tracked.note_end(auto_restart=True)
            try:
                km.add_restart_callback(tracked.restart_callback, "restart")
            except Exception:
                tracked.restart_callback = None
        self._on_process_launched(tracked, "added")

    def _remove(self, kernel_id: str) -> None:
        tracked = self.kernels.pop(kernel_id, None)
        if tracked is None:
            return
        tracked.close_channels()
        if tracked.restart_callback is not None:
            try:
                tracked.km.remove_restart_callback(tracked.restart_callback, "restart")
            except Exception:
                pass  # the kernel manager is gone with its restarter
            tracked.restart_callback = None
        self.changes.changed(tracked, "removed")
        self.log.debug("Active sessions: kernel %s removed", kernel_id)

    def _check_process(self, tracked: TrackedKernel) -> None:
        running = kernel_process.is_running(tracked.km)
        pid = kernel_process.kernel_pid(tracked.km)
        if running and pid is not None and pid != tracked.pid:
            # A new process for the same kernel id: restarted (by a client or
            # by jupyter_client's auto-restarter after a crash; that one's log
            # line does not name the kernel, this one does).
            self.log.info("Active sessions: kernel %s runs a new process (pid %s, was %s)",
                          tracked.kernel_id, pid, tracked.pid)
            tracked.restart_count += 1
            self._on_process_launched(tracked, "restarted")
            self._rewatch_if_stale(tracked)
        elif running is False and tracked.state.status != EXITED:
            if tracked.on_exit():
                self.changes.changed(tracked, "exited")

    def _rewatch_if_stale(self, tracked: TrackedKernel) -> None:
        """A kernel jupyter_client's restarter brought back on new ports:
        jupyter_server's activity watcher still listens on the old ones (it
        re-watches only after restarts it was asked for), so its culler,
        `api/kernels` and its websockets' nudge would see no activity from the
        new process. Re-watch, as jupyter_server does after those restarts;
        the hook then puts us on the new watcher."""
        km = self.kernel_manager
        stream = getattr(tracked.km, "_activity_stream", None)
        if (
            tracked.remote
            or stream is None
            or stream.closed()
            or on_current_ports(tracked.km, stream)
            # a restart the server was asked for: it re-watches itself
            or getattr(tracked.km, "_pending_restart_cleanup", None) is not None
            or not hasattr(km, "stop_watching_activity")
        ):
            return
        self.log.info("Active sessions: kernel %s came back on new ports; watching it there",
                      tracked.kernel_id)
        try:
            km.stop_watching_activity(tracked.kernel_id)
            km.start_watching_activity(tracked.kernel_id)
        except Exception:
            self.log.warning("Active sessions: cannot watch kernel %s on its new ports",
                             tracked.kernel_id, exc_info=True)

    def _on_process_launched(self, tracked: TrackedKernel, action: str) -> None:
        settings = self.settings
        process = kernel_process.snapshot(
            tracked.km,
            server_env=settings.server_env,
            secret_names=settings.secret_names,
            include_env=settings.show_initial_env,
        )
        tracked.on_launch(process, kernel_process.current_cwd(process.pid) or process.launch_cwd,
                          kernel_process.launched_process(tracked.km))
        if tracked.remote:
            # The gateway's websocket traffic tells about a remote kernel; when
            # no client carries it, the gateway's kernel model does (tick).
            tracked.state.on_reported_state(getattr(tracked.km, "execution_state", None))
            self.changes.changed(tracked, action)
            return
        self.changes.changed(tracked, action)
        if kernel_process.is_running(tracked.km) is False:
            tracked.state.on_exit()
            self.changes.changed(tracked, "exited")
            return
        try:
            tracked.iopub = IOPubObserver(
                tracked.km, functools.partial(self.router.on_iopub, tracked), self.log
            )
        except Exception:
            self.log.warning(
                "Active sessions: cannot subscribe to IOPub of kernel %s",
                tracked.kernel_id,
                exc_info=True,
            )
        self._request_kernel_info(tracked)

    async def bound_sessions(self) -> dict[str, list[dict[str, Any]]]:
        """Jupyter sessions (notebooks, consoles) per kernel id. A kernel whose
        sessions changed since the last look has changed ("sessions")."""
        bound: dict[str, list[dict[str, Any]]] = {}
        if self.session_manager is None:
            return bound
        for model in await ensure_async(self.session_manager.list_sessions()):
            kernel = model.get("kernel") or {}
            if kernel.get("id"):
                bound.setdefault(kernel["id"], []).append(model)
        for kernel_id, tracked in list(self.kernels.items()):
            tracked.bound = bound.get(kernel_id, [])
            seen = tuple(sorted(
                tuple(str(m.get(k)) for k in JUPYTER_SESSION_FIELDS)
                for m in bound.get(kernel_id, [])
            ))
            if self._bound_seen.get(kernel_id, ()) != seen:
                self._bound_seen[kernel_id] = seen
                self.changes.changed(tracked, "sessions")
        for kernel_id in set(self._bound_seen) - set(self.kernels):
            del self._bound_seen[kernel_id]
        return bound

    # -- kernel_info ---------------------------------------------------------------

    def _request_kernel_info(self, tracked: TrackedKernel) -> None:
        if tracked.kernel_info_task is not None and not tracked.kernel_info_task.done():
            return
        tracked.kernel_info_task = asyncio.ensure_future(self._fetch_kernel_info(tracked))

    async def _fetch_kernel_info(self, tracked: TrackedKernel) -> None:
        pid = tracked.pid
        try:
            # Ready only once IOPub is live too: an execution whose busy and
            # execute_input were published before would be missed.
            content = await kernel_info_when_live(
                tracked.km, tracked.iopub, self.settings.kernel_info_timeout,
                in_flight=tracked.kernel_info_streams,
            )
        except (TimeoutError, asyncio.TimeoutError):
            if tracked.pid == pid and kernel_process.is_running(tracked.km) is not False:
                # Busy kernels answer shell requests only after the running cell;
                # that is not being offline.
                if tracked.state.status != BUSY and tracked.state.on_unresponsive():
                    self.changes.changed(tracked, "status")
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.warning(
                "Active sessions: kernel_info request to %s failed",
                tracked.kernel_id,
                exc_info=True,
            )
            return
        if tracked.pid != pid or self.kernels.get(tracked.kernel_id) is not tracked:
            return  # answer from a process that has since been replaced
        self.router.on_kernel_info_reply(tracked, content)

    def _retry_kernel_info(self) -> None:
        for tracked in self.kernels.values():
            if tracked.state.status in (STARTING, OFFLINE) and tracked.iopub is not None:
                self._request_kernel_info(tracked)

    # -- what the kernel manager counts ------------------------------------------------

    def connections(self, kernel_id: str) -> int:
        tracked = self.kernels.get(kernel_id)
        if tracked is not None and tracked.remote:
            return tracked.clients
        counts = getattr(self.kernel_manager, "_kernel_connections", None)
        if isinstance(counts, dict):
            # jupyter_server's own count, as its kernel model reports it.
            return int(counts.get(kernel_id, 0))
        return tracked.clients if tracked is not None else 0
