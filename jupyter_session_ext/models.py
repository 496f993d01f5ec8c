"""Where one session's state lives: a `TrackedKernel` per kernel of the
server's kernel manager, and the small value types around it.

`TrackedKernel` owns its own resets (a new launch, an exit, closing its
channels), so no other module reaches into its private fields. Which kernels
exist, and when they change, is `tracking.py`'s job.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from typing import Any, Callable, NamedTuple

from . import kernel_process
from .iopub_traffic import IOPubObserver
from .kernel_process import ProcessSnapshot
from .session_state import EXITED, SessionState
from .timestamps import isoformat, utcnow

# What a session's model shows of each Jupyter session bound to its kernel
# (serialize.active_session); a change of any of them is a "sessions" change.
JUPYTER_SESSION_FIELDS = ("id", "path", "name", "type")


class UnknownSession(KeyError):
    """No kernel with this id is known to the registry."""


class SpecFacts(NamedTuple):
    kernel_name: str
    language: str
    display_name: str
    interrupt_mode: str
    # The kernelspec's own culling timeout (metadata), as jupyter_server reads it.
    cull_idle_timeout: Any = None


class ProcessEnd(NamedTuple):
    """How one kernel process ended, as far as is known."""

    ended: datetime
    exit_code: int | None
    signal: int | None


# Why a process ended (last_exit.reason, and an ended kernel's reason).
RESTARTED = "restarted"  # the server restarted it (a client asked)
EXITED_ON_ITS_OWN = "exited"  # it exited with a code, and nobody asked
KILLED = "killed"  # a signal the server did not send (OOM killer, kill -9)


def session_mode(bound: list[dict[str, Any]]) -> str:
    """notebook if a notebook is bound; console for any other interactive
    document (console, or an editor's kernel); background if none."""
    if not bound:
        return "background"
    if any(s.get("type") == "notebook" for s in bound):
        return "notebook"
    return "console"


def notebook_path(bound: list[dict[str, Any]]) -> str | None:
    for s in bound:
        if s.get("type") == "notebook" and isinstance(s.get("path"), str):
            return s["path"]
    return None


class TrackedKernel:
    """Everything known about one kernel."""

    # Remote kernels keep the last msg_ids of IOPub seen, to count each once.
    SEEN_IOPUB = 512

    def __init__(self, kernel_id: str, km: Any, state: SessionState) -> None:
        self.kernel_id = kernel_id
        self.km = km
        self.state = state
        self.process: ProcessSnapshot | None = None
        self.working_directory: str = ""
        self.cwd_read_at = 0.0  # time.monotonic() of the last read (message_routing.py)
        self.restart_count = 0
        # PATCHed values; a missing key means "the default".
        self.overrides: dict[str, str] = {}
        self.iopub: IOPubObserver | None = None
        self.resource_usage: dict[str, Any] | None = None
        self.remote = kernel_process.is_remote(km)
        # Remote kernels only: websocket clients counted here (the gateway's
        # own count lags), and IOPub msg_ids already seen (every client's
        # proxy carries the same IOPub stream).
        self.clients = 0
        self._seen_iopub: OrderedDict[str, None] = OrderedDict()
        self.kernel_info_task: asyncio.Task[None] | None = None
        # The shell streams of kernel_info requests in flight (close_channels).
        self.kernel_info_streams: set[Any] = set()
        self._spec_facts: SpecFacts | None = None  # see spec_facts(); reset at each launch
        # Counts the visible changes (changes.Changes.report): what was
        # encoded at one revision holds until the next (see serialize.py).
        self.revision = 0
        # Set once the current process has answered kernel_info.
        self.ready = asyncio.Event()
        # The Jupyter sessions bound to the kernel when last looked at: kept
        # so an ended kernel still says which notebook it served.
        self.bound: list[dict[str, Any]] = []
        # PATCHed idle timeout: 0 never culls, None follows the server's rule.
        self.idle_timeout: int | None = None
        # The current process (its Popen, for the exit status), how it ended
        # once known, and whether jupyter_client's auto-restarter found it dead.
        self.popen: Any = None
        self.process_end: ProcessEnd | None = None
        self._auto_restarted = False
        self.last_exit: dict[str, Any] | None = None
        # Given to the kernel manager's restarter (tracking.py), to take back.
        self.restart_callback: Callable[[], None] | None = None

    # -- resets ------------------------------------------------------------------

    def close_channels(self) -> None:
        """Stop listening to the kernel: IOPub, and a kernel_info in flight."""
        if self.iopub is not None:
            self.iopub.close()
            self.iopub = None
        task, self.kernel_info_task = self.kernel_info_task, None
        if task is not None and not task.done():
            task.cancel()
        # Now, not when the cancelled task next runs: by then the kernel
        # manager may have closed the socket under the stream (see
        # iopub_traffic.request_kernel_info).
        for stream in list(self.kernel_info_streams):
            if not stream.closed():
                stream.close()
        self.kernel_info_streams.clear()

    def on_launch(
        self, process: ProcessSnapshot, working_directory: str, popen: Any = None
    ) -> None:
        """A new process for this kernel (first start or restart): nothing the
        last one said holds."""
        if self.process is not None:
            self.last_exit = self._exit_record()
        self.popen = popen
        self.process_end = None
        self._auto_restarted = False
        self.close_channels()
        self._spec_facts = None  # read afresh for the new process
        self.ready.clear()
        self.process = process
        self.working_directory = working_directory
        self.resource_usage = None
        self.state.on_launch()

    def note_end(self, auto_restart: bool = False) -> None:
        """The current process ended: seen dead, or jupyter_client's restarter
        found it dead (`auto_restart`) and is about to start another."""
        if self.process_end is None:
            status = kernel_process.exit_status(self.popen) if self.popen is not None else None
            self.process_end = ProcessEnd(utcnow(), *(status or (None, None)))
        self._auto_restarted = self._auto_restarted or auto_restart

    def _ended_how(self) -> ProcessEnd:
        end = self.process_end or ProcessEnd(utcnow(), None, None)
        if end.exit_code is None and end.signal is None and self.popen is not None:
            # Reaped since (a restart waits for the old process): ask again.
            status = kernel_process.exit_status(self.popen)
            if status is not None:
                end = end._replace(exit_code=status[0], signal=status[1])
        return end

    def _exit_record(self) -> dict[str, Any]:
        end = self._ended_how()
        if not self._auto_restarted:
            reason = RESTARTED
        else:
            reason = KILLED if end.signal is not None else EXITED_ON_ITS_OWN
        return {"ended": isoformat(end.ended), "reason": reason,
                "exit_code": end.exit_code, "signal": end.signal}

    def exit_reason(self) -> tuple[str, ProcessEnd] | None:
        """For a kernel whose process is gone for good: exited or killed.
        (jupyter_server drops a kernel the restarter gave up on at once, so
        the process is asked too, not only what the tracker saw.)"""
        if self.state.status != EXITED and (
            self.popen is None or kernel_process.exit_status(self.popen) is None
        ):
            return None
        self.note_end()
        end = self._ended_how()
        return (KILLED if end.signal is not None else EXITED_ON_ITS_OWN), end

    def on_exit(self) -> bool:
        """The process is gone; True when that is news."""
        self.note_end()
        self.close_channels()
        self.ready.clear()
        self.resource_usage = None
        return self.state.on_exit()

    def first_sight(self, msg_id: str | None) -> bool:
        """False for a remote kernel's IOPub message already seen through
        another client's copy of the stream."""
        if not msg_id:
            return True
        if msg_id in self._seen_iopub:
            return False
        self._seen_iopub[msg_id] = None
        if len(self._seen_iopub) > self.SEEN_IOPUB:
            self._seen_iopub.popitem(last=False)
        return True

    # -- facts ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def spec_facts(self) -> SpecFacts:
        """The kernelspec's facts, read once per launch: jupyter_client reads
        the spec when it launches a kernel, so they cannot change until the
        next launch, and the list route need not ask for them per request."""
        if self._spec_facts is None:
            try:
                spec = self.km.kernel_spec
            except Exception:  # a spec removed after launch is not our failure
                spec = None
            kernel_name = str(getattr(self.km, "kernel_name", "") or "")
            self._spec_facts = SpecFacts(
                kernel_name=kernel_name,
                language=str(getattr(spec, "language", "") or ""),
                display_name=str(getattr(spec, "display_name", "") or kernel_name),
                interrupt_mode="message" if getattr(spec, "interrupt_mode", None) == "message"
                else "signal",
                cull_idle_timeout=(getattr(spec, "metadata", None) or {}).get("cull_idle_timeout"),
            )
        return self._spec_facts

    @property
    def kernel_name(self) -> str:
        return self.spec_facts().kernel_name

    @property
    def language(self) -> str:
        info = self.state.kernel_info.get("language_info")
        if isinstance(info, dict) and isinstance(info.get("name"), str) and info["name"]:
            return info["name"]
        return self.spec_facts().language

    @property
    def default_display_name(self) -> str:
        return self.spec_facts().display_name

    @property
    def display_name(self) -> str:
        return self.overrides.get("display_name") or self.default_display_name

    @property
    def interrupt_mode(self) -> str:
        return self.spec_facts().interrupt_mode

    def last_activity(self) -> datetime:
        """As jupyter_server's kernel model (and its culler) says: its kernel
        manager keeps it. The state machine's own record otherwise."""
        try:
            value = getattr(self.km, "last_activity", None)
        except Exception:
            # A kernel jupyter_server has listed but not stamped yet: its
            # `last_activity` trait has no value, and reading it raises.
            value = None
        return value if isinstance(value, datetime) else self.state.last_activity

    @property
    def notebook_path(self) -> str | None:
        return notebook_path(self.bound)
