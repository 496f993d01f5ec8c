"""Where one kernel's state lives: a `TrackedKernel` per kernel of the
server's kernel manager, and the value types it holds.

Plain data and the rules that keep it consistent (a new launch, an exit):
no channel, socket or process handle lives here. `lifecycle/` reads the
facts (from the kernel manager and the OS) and hands them in; what listens
to the kernel lives in `lifecycle/channels.py`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple, Protocol

from .kernel_state import EXITED, OFFLINE, KernelState
from .last_words import NOT_CAPTURED_WORDS, REMOTE_WORDS, LastWords
from .process_end import (
    FAILED_TO_START,
    RESTARTED,
    SIGKILL,
    ExitStatus,
    LastExit,
    ProcessEnd,
    WordsSource,
    unasked_reason,
)
from .queue import QueueEntry
from .timeline import ResourceTimeline
from .timestamps import utcnow

# What a kernel's model shows of each Jupyter session bound to it; a change
# of any of them is a "sessions" change.
JUPYTER_SESSION_FIELDS = ("id", "path", "name", "type")


class UnknownKernel(KeyError):
    """No kernel with this id is known to the registry."""


class SpecFacts(NamedTuple):
    """The kernelspec's facts, read at each launch: jupyter_client reads the
    spec when it launches a kernel, so they hold until the next launch."""

    kernel_name: str = ""
    language: str = ""
    display_name: str = ""
    interrupt_mode: str = "signal"
    # The kernelspec's own culling timeout (metadata), as jupyter_server reads it.
    cull_idle_timeout: Any = None


@dataclass(frozen=True)
class ProcessSnapshot:
    """Facts fixed for one incarnation of a kernel process (a restart makes a
    new snapshot)."""

    pid: int | None
    argv: list[str]
    username: str
    started: datetime
    launch_cwd: str
    # Already redacted: raw secret values are never kept past the snapshot.
    initial_env: dict[str, str] | None
    # The Unix socket prefix of an ipc-transport kernel; None for tcp.
    socket_path: str | None = None
    # The notebook a Voilà dashboard serves, when Voilà started this
    # process for one (lifecycle/voila.py): no Jupyter session says it.
    dashboard: str | None = None


class ProcessEnds(Protocol):
    """What can be asked of one process about its end (lifecycle/channels.py)."""

    def exit_status(self) -> ExitStatus: ...
    def last_words(
        self,
        exit_code: int | None,
        signal: int | None,
        running: QueueEntry | None,
        candidates: Iterable[QueueEntry],
    ) -> LastWords: ...


class MemoryLimits(Protocol):
    """What a kernel's end is told of the memory limit (memory/limits.py)."""

    def limit_bytes(self) -> int | None: ...
    def claim_oom_kill(self) -> bool: ...


class _NoLimits:
    def limit_bytes(self) -> int | None:
        return None

    def claim_oom_kill(self) -> bool:
        return False


class ResourceUsage(NamedTuple):
    """A sample of the kernel process and its children (replaced whole)."""

    cpu_percent: float
    memory_bytes: int
    thread_count: int
    sampling_period_ms: int
    timestamp: datetime


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
        path = s.get("path")
        if s.get("type") == "notebook" and isinstance(path, str):
            return path
    return None


def _unknown_status() -> ExitStatus:
    return None


def _not_captured(*_: Any) -> LastWords:
    return NOT_CAPTURED_WORDS


def _no_server_activity() -> datetime | None:
    return None


class TrackedKernel:
    """Everything known about one kernel."""

    # Remote kernels keep the last msg_ids of IOPub seen, to count each once.
    SEEN_IOPUB = 512

    def __init__(
        self,
        kernel_id: str,
        state: KernelState,
        *,
        remote: bool = False,
        server_last_activity: Callable[[], datetime | None] = _no_server_activity,
        limits: MemoryLimits | None = None,
    ) -> None:
        self.kernel_id = kernel_id
        self.state = state
        self.remote = remote
        # jupyter_server's own last_activity of this kernel, when it keeps one
        # (its culler reads it); the state machine's otherwise.
        self._server_last_activity = server_last_activity
        self.spec = SpecFacts()
        self.process: ProcessSnapshot | None = None
        self.working_directory: str = ""
        self.cwd_read_at = 0.0  # time.monotonic() of the last read (traffic/routing.py)
        self.restart_count = 0
        # PATCHed values; a missing key means "the default".
        self.overrides: dict[str, str] = {}
        self.resource_usage: ResourceUsage | None = None
        # Memory and CPU over time (across restarts), and the last memory
        # figure, kept when the process is gone (an OOM kill says it).
        self.timeline = ResourceTimeline()
        self.last_memory_bytes: int | None = None
        # The latest readings of the process's memory (when, bytes): an
        # execution's start is the last taken before the kernel began it.
        self.memory_marks: deque[tuple[datetime, int]] = deque(maxlen=4)
        self._limits: MemoryLimits = limits or _NoLimits()
        # Remote kernels only: websocket clients counted here (the gateway's
        # own count lags), and IOPub msg_ids already seen (every client's
        # proxy carries the same IOPub stream).
        self.clients = 0
        # The last ok execute_reply, unparsed (traffic/routing.py: settle).
        self.unread_reply: Callable[[], Any] | None = None
        self._seen_iopub: OrderedDict[str, None] = OrderedDict()
        # Counts the visible changes (changes.Changes.report): what was
        # encoded at one revision holds until the next (api/serialize.py).
        self.revision = 0
        # Set once the current process has answered kernel_info.
        self.ready = asyncio.Event()
        # The Jupyter sessions bound to the kernel when last looked at: kept
        # so an ended kernel still says which notebook it served.
        self.bound: list[dict[str, Any]] = []
        # PATCHed idle timeout: 0 never culls, None follows the server's rule.
        self.idle_timeout: int | None = None
        # How the current process ended once known; whether jupyter_client's
        # auto-restarter found it dead; how to ask the process itself.
        self.process_end: ProcessEnd | None = None
        self._auto_restarted = False
        self._exit_status: Callable[[], ExitStatus] = _unknown_status
        self.last_exit: LastExit | None = None
        # What the current process wrote last, asked once it ended; the
        # executions it ran and had queued then (a crash clears the queue).
        self._words: WordsSource = _not_captured
        self._words_said: LastWords | None = None
        self._queued_at_end: tuple[QueueEntry, ...] = ()

    # -- resets ------------------------------------------------------------------

    def on_launch(
        self,
        process: ProcessSnapshot,
        working_directory: str,
        spec: SpecFacts,
        ends: ProcessEnds | None = None,
    ) -> None:
        """A new process for this kernel (first start or restart): nothing the
        last one said holds. `ends` asks the new process how it ended, and
        what it wrote last."""
        if self.process is not None:
            self.last_exit = self._exit_record()
        self._exit_status = ends.exit_status if ends is not None else _unknown_status
        self._words = ends.last_words if ends is not None else _not_captured
        self._words_said, self._queued_at_end = None, ()
        self.process_end = None
        self._auto_restarted = False
        self.last_memory_bytes = None
        self.memory_marks.clear()
        self.spec = spec
        self.ready.clear()
        self.process = process
        self.working_directory = working_directory
        self.resource_usage = None
        self.state.on_launch()

    def note_end(self, auto_restart: bool = False) -> None:
        """The current process ended: seen dead, or jupyter_client's restarter
        found it dead (`auto_restart`) and is about to start another."""
        if self.process_end is None:
            self.process_end = self._end_now(self._exit_status())
        self._auto_restarted = self._auto_restarted or auto_restart

    def _end_now(self, status: ExitStatus) -> ProcessEnd:
        queue = self.state.queue
        queued = [*((queue.active,) if queue.active else ()), *queue.pending]
        if queued and queued[0].execution_count is None:
            # The kernel numbers a cell as it starts it, the next after the
            # last it said: a crash at once may keep its execute_input in.
            count = (self.state.execution_count or 0) + 1
            queued[0] = replace(queued[0], execution_count=count)
        self._queued_at_end = tuple(queued)
        answered = self.ready.is_set() or bool(self.state.kernel_info) or self.state.has_served
        return ProcessEnd(
            utcnow(),
            *(status or (None, None)),
            answered=answered,
            stuck=not answered and self.state.status == OFFLINE,
        )

    def _ended_how(self) -> ProcessEnd:
        end = self.process_end or self._end_now(None)
        if end.exit_code is None and end.signal is None:
            # Reaped since (a restart waits for the old process): ask again.
            status = self._exit_status()
            if status is not None:
                end = end._replace(exit_code=status[0], signal=status[1])
        if end.signal == SIGKILL and end.oom is None:
            # Asked once per process: each OOM kill the cgroup counted names one.
            end = end._replace(oom=self._limits.claim_oom_kill())
        self.process_end = end
        return end

    def _exit_record(self) -> LastExit:
        end = self._ended_how()
        if self._auto_restarted:
            reason = unasked_reason(end)
        else:
            reason = FAILED_TO_START if end.stuck else RESTARTED
        return LastExit(
            end.ended,
            reason,
            end.exit_code,
            end.signal,
            self.last_memory_bytes,
            self._limits.limit_bytes(),
            self.last_words(),
        )

    def last_words(self) -> LastWords | None:
        """What the current process wrote last, once it ended (None before:
        it has not said its last yet)."""
        if self.remote:
            return REMOTE_WORDS
        end = self.process_end
        if end is None:
            return None
        if self._words_said is None:
            running = self._queued_at_end[0] if self._queued_at_end else None
            if running is not None and running.started is None:
                running = None  # queued, not begun (or not yet seen to begin)
            candidates = chain(
                self._queued_at_end, (f.entry for f in self.state.history.executions())
            )
            self._words_said = self._words(end.exit_code, end.signal, running, candidates)
        return self._words_said

    def exit_reason(self) -> tuple[str, ProcessEnd] | None:
        """For a kernel whose process is gone for good: exited or killed.
        (jupyter_server drops a kernel the restarter gave up on at once, so
        the process is asked too, not only what the tracker saw.)"""
        if self.state.status != EXITED and self._exit_status() is None:
            return None
        self.note_end()
        end = self._ended_how()
        return unasked_reason(end), end

    def limit_bytes(self) -> int | None:
        """The memory limit the kernel lives under, as last read."""
        return self._limits.limit_bytes()

    def on_exit(self) -> bool:
        """The process is gone; True when that is news."""
        self.note_end()
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

    @property
    def kernel_name(self) -> str:
        return self.spec.kernel_name

    @property
    def language(self) -> str:
        info = self.state.kernel_info.get("language_info")
        if isinstance(info, dict) and isinstance(info.get("name"), str) and info["name"]:
            return str(info["name"])
        return self.spec.language

    @property
    def default_display_name(self) -> str:
        return self.spec.display_name or self.spec.kernel_name

    @property
    def display_name(self) -> str:
        return self.overrides.get("display_name") or self.default_display_name

    @property
    def interrupt_mode(self) -> str:
        return self.spec.interrupt_mode

    def last_activity(self) -> datetime:
        """As jupyter_server's kernel model (and its culler) says, when it
        keeps one; the state machine's own record otherwise."""
        value = self._server_last_activity()
        return value if isinstance(value, datetime) else self.state.last_activity

    @property
    def notebook_path(self) -> str | None:
        return notebook_path(self.bound) or self._dashboard()

    @property
    def session_mode(self) -> str:
        """As the bound Jupyter sessions say; a dashboard's kernel runs a
        notebook for its readers, so it is a notebook's too."""
        if not self.bound and self._dashboard():
            return "notebook"
        return session_mode(self.bound)

    def _dashboard(self) -> str | None:
        return self.process.dashboard if self.process is not None else None
