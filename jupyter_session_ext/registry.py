"""The one object the handlers and the metrics get: the extension's
settings, and what can be asked of a kernel or done to it.

It wires the pieces that do the work and owns none of their state:
`lifecycle.tracker.KernelTracker` (which kernels exist, their records and
channels), `state.changes.Changes` (the change point and the server's busy
clock), `api.events.SessionEvents` (events on the server's bus),
`lifecycle.resources.ResourceMonitor` (CPU/memory, and what each execution
cost), `memory.limits.MemoryWatch` (the memory limit, its warning, OOM kills),
`lifecycle.ended.EndedSessions` (kernels that are gone, and why),
`lifecycle.culling.Culling` (when a kernel will be culled; per-kernel
timeouts), `lifecycle.actions.KernelActions` (what a client may do) and
`lifecycle.persistence.SessionStore` (what survives a restart).
"""

from __future__ import annotations

import os
import re
from functools import partial
from typing import Any

from traitlets import (
    Bool,
    Dict,
    Float,
    Instance,
    Integer,
    List,
    TraitError,
    Unicode,
    default,
    observe,
    validate,
)
from traitlets.config import Configurable, LoggingConfigurable

from .api.agent_tools import AgentTools
from .api.events import SessionEvents
from .api.metrics import SessionMetrics
from .lifecycle.actions import KernelActions
from .lifecycle.culling import Culling, CullingInfo
from .lifecycle.ended import EndedSessions
from .lifecycle.kernel_output import KernelOutput
from .lifecycle.persistence import SessionStore
from .lifecycle.redaction import compile_patterns
from .lifecycle.resources import ResourceMonitor
from .lifecycle.tracker import KernelTracker
from .memory.limits import MemoryWatch
from .state.changes import Changes
from .state.ended import SERVER_STOPPED, EndedKernel
from .state.history import FinishedExecution
from .state.record import TrackedKernel, UnknownKernel

# Names whose values never leave the server (besides credentials in any value:
# lifecycle/redaction.py). PWD is the working directory, PATH no PAT.
DEFAULT_SECRET_PATTERNS = [
    "TOKEN",
    "SECRET",
    "PASS",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    r"^(?!(?:OLD)?PWD$).*PWD",
    r"(?:^|_)PAT(?:_|$)",
    "DSN",
    "PRIVATE",
    "COOKIE",
]


class SessionRegistry(LoggingConfigurable):
    """Tracks an ActiveSession for every kernel of the server's kernel manager."""

    prompts = Dict(
        value_trait=List(Unicode(), minlen=2, maxlen=2),
        default_value={
            "python": [">>> ", "... "],
            "r": ["> ", "+ "],
            "julia": ["julia> ", "       "],
        },
        help="""Default [input_prompt, continuation_prompt] per kernel language
        (lower-case language name, as in kernel_info's language_info.name or the
        kernelspec). Languages not listed use default_input_prompt and
        default_continuation_prompt. A PATCH on a session overrides these.""",
    ).tag(config=True)

    default_input_prompt = Unicode(
        "> ", help="Input prompt for languages not listed in `prompts`."
    ).tag(config=True)

    default_continuation_prompt = Unicode(
        "+ ", help="Continuation prompt for languages not listed in `prompts`."
    ).tag(config=True)

    code_preview_length = Integer(
        1000,
        help="""Characters of code kept in each execution-queue entry; longer code
        is cut and marked `code_truncated`. 0 keeps code whole.""",
    ).tag(config=True)

    kernel_info_timeout = Float(
        10.0,
        help="""Seconds to wait for a kernel's kernel_info_reply after it starts or
        restarts. A live process that does not answer in time is `offline`.""",
    ).tag(config=True)

    poll_interval = Float(
        1.0,
        help="""Seconds between background checks of every kernel (new or removed
        kernels, restarts, dead processes, unanswered kernel_info). Kernel
        actions through the server are seen at once regardless.""",
    ).tag(config=True)

    show_initial_env = Bool(
        True,
        help="""Report `initial_env` (variables set for the kernel beyond the
        server's own environment). When False, `initial_env` is null.""",
    ).tag(config=True)

    tcp_nodelay = Bool(
        True,
        help="""Set TCP_NODELAY on the kernel websockets the extension observes
        (and, in gateway mode, the server's websocket to the gateway):
        jupyter_server leaves Nagle's algorithm on, which with delayed ACKs
        holds a short cell's reply ~40 ms. During a run of queued cells
        Nagle's algorithm is back, gathering the run's many small messages.
        False keeps the sockets as jupyter_server sets them. Applies to
        connections made after a change.""",
    ).tag(config=True)

    secret_env_patterns = List(
        Unicode(),
        default_value=DEFAULT_SECRET_PATTERNS,
        help="""Regular expressions (case-insensitive, matched anywhere in the
        name) of environment variable names whose values `initial_env` shows as
        "<redacted>"; so do matching `NAME=value` and `--flag` values of `argv`
        and matching keys of URL queries, connection strings and JSON in any value.
        Known shapes go whatever their name (URL passwords, `?sig=`, `-pSECRET`).""",
    ).tag(config=True)

    resource_sampling_interval = Float(
        5.0,
        help="""Seconds between background samples of each kernel's CPU, memory
        and threads (the kernel process and its children). 0 turns sampling off
        (`resource_usage` is then null).""",
    ).tag(config=True)

    history_length = Integer(
        100,
        help="""Finished executions kept per kernel for `GET
        api/active-sessions/{id}/history` (newest first; older ones are
        dropped). 0 keeps none; queue entries still get `expected_seconds`.""",
    ).tag(config=True)

    max_pending = Integer(
        1000,
        help="""Pending executions kept whole per kernel (code, cell id, when
        sent); beyond them a kernel's queue only counts, so `length` stays exact
        whatever a client sends. At least 1.""",
    ).tag(config=True)

    @validate("max_pending")
    def _check_max_pending(self, proposal: Any) -> int:
        if proposal.value < 1:
            raise TraitError("SessionRegistry.max_pending must be 1 or more.")
        return int(proposal.value)

    @observe("history_length")
    def _history_length_changed(self, change: Any) -> None:
        tracker = self.__dict__.get("tracker")  # none yet while the config loads
        for tracked in tracker.kernels.values() if tracker is not None else ():
            tracked.state.history.resize(change.new)

    @validate("code_preview_length", "history_length")
    def _check_not_negative(self, proposal: Any) -> int:
        if proposal.value < 0:
            zero = " (no cut)" if proposal.trait.name == "code_preview_length" else ""
            raise TraitError(f"SessionRegistry.{proposal.trait.name} must be 0{zero} or more.")
        return int(proposal.value)

    @validate("kernel_info_timeout", "poll_interval")
    def _check_positive(self, proposal: Any) -> float:
        if proposal.value <= 0:
            raise TraitError(f"SessionRegistry.{proposal.trait.name} must be more than 0 seconds.")
        return proposal.value

    @validate("resource_sampling_interval")
    def _check_sampling(self, proposal: Any) -> float:
        if proposal.value < 0:
            raise TraitError(
                "SessionRegistry.resource_sampling_interval must be 0 (off) or more seconds."
            )
        return proposal.value

    @validate("secret_env_patterns")
    def _check_patterns(self, proposal: Any) -> list[str]:
        for pattern in proposal.value:
            try:
                re.compile(pattern)
            except re.error as err:
                raise TraitError(
                    f"SessionRegistry.secret_env_patterns: {pattern!r} is not a valid "
                    f"regular expression ({err})."
                ) from None
        return proposal.value

    @observe("secret_env_patterns")
    def _patterns_changed(self, change: Any) -> None:
        self.secret_names = compile_patterns(change.new)

    kernel_manager = Instance("jupyter_client.multikernelmanager.MultiKernelManager")
    session_manager = Instance(
        "jupyter_server.services.sessions.sessionmanager.SessionManager", allow_none=True
    )
    event_logger = Instance("jupyter_events.EventLogger", allow_none=True)

    server_env = Dict(help="The server's own environment, against which initial_env is taken.")

    @default("server_env")
    def _server_env_default(self) -> dict[str, str]:
        return dict(os.environ)

    # The compiled `secret_env_patterns`, kept up to date by `_patterns_changed`.
    secret_names: re.Pattern[str] | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret_names = compile_patterns(self.secret_env_patterns)
        self.changes = Changes()
        self.memory = MemoryWatch(lambda: self.tracker.kernels.values(), parent=self)
        self.output = KernelOutput(lambda: self.secret_names, parent=self)
        self.tracker = KernelTracker(
            self,
            self.kernel_manager,
            self.session_manager,
            self.event_logger,
            self.changes,
            self.log,
            limits=self.memory,
        )
        kernels, interval = self.tracker.kernels.values, lambda: self.resource_sampling_interval
        self.resources = ResourceMonitor(kernels, interval, self.memory, self.log)
        # First: an execution's memory figures are set before it is reported.
        self.changes.listen(self.resources.changed)
        self.events = SessionEvents(
            self.tracker.connections, parent=self, event_logger=self.event_logger
        )
        self.changes.listen(self.events.changed)
        self.memory.listen(self.events.memory_warning)
        self.ended = EndedSessions(parent=self)
        self.ended.listen(self.events.ended)
        self.changes.listen(self.ended.changed)
        self.store = SessionStore(
            self.tracker.kernels,
            self.ended,
            self.tracker.durations,
            lambda: self.history_length,
            self.changes,
            parent=self,
        )
        self.ended.listen(self.store.ended)
        self.culling = Culling(
            self.tracker.kernels,
            self.kernel_manager,
            self.ended,
            self.tracker.connections,
            self.log,
        )
        self.actions = KernelActions(
            self.kernel_manager,
            self.tracker,
            self.ended,
            self.culling,
            self.changes,
            partial(self.get, processes=True),  # an action reads the process as it is
            lambda: self.kernel_info_timeout,
        )
        self._started = self._stopped = False

    # -- lifecycle of the registry ------------------------------------------------

    def start(self) -> None:
        """Begin following the kernel manager (needs the running event loop);
        idempotent: the app schedules it as it loads, its start hook again."""
        if self._stopped or self._started:
            return
        self._started = True
        self.ended.install(self.kernel_manager, before=self.tracker.drain)
        self.output.install(self.kernel_manager)
        self.tracker.start()
        self.culling.start()
        self.resources.start()
        self.store.start()

    def stop(self, server_stopping: bool = False) -> None:
        """Stop everything started. Safe before start, and twice. When the
        server itself stops, its kernels end with it (`server_stopped`);
        otherwise (a registry replaced or unloaded) they live on, and are
        not recorded as ended."""
        self._stopped = True
        self.resources.stop()
        self.culling.stop()
        self.ended.uninstall()
        if server_stopping:
            for kernel_id in list(self.tracker.kernels):
                self.ended.note(kernel_id, SERVER_STOPPED, replace=True)
        else:
            self.ended.closed = True
        self.tracker.stop()
        self.output.uninstall()
        self.store.stop(server_stopping)
        self.events.close()

    # -- queries ---------------------------------------------------------------------

    def get(self, kernel_id: str, processes: bool = False) -> TrackedKernel:
        """The kernel's record, reconciled with the kernel manager first (its
        process too with `processes`: otherwise the periodic check tells of a
        death or a restart nobody asked for, within `poll_interval`)."""
        self.tracker.sync(processes)
        tracked = self.tracker.kernels.get(kernel_id)
        if tracked is None:
            raise UnknownKernel(kernel_id)
        return tracked

    def snapshot(self) -> list[TrackedKernel]:
        """The tracked kernels as they are, not reconciled first (metrics)."""
        return list(self.tracker.kernels.values())

    def all(self) -> list[TrackedKernel]:
        """Every kernel's record, oldest first, reconciled first (as `get`)."""
        self.tracker.sync(processes=False)
        # (Every record has its process's snapshot from the moment it is added.)
        return sorted(self.tracker.kernels.values(), key=lambda t: (t.process.started, t.kernel_id))  # type: ignore[union-attr]

    async def refresh_bound(self) -> None:
        """Look again at the Jupyter sessions bound to every kernel (`bound`),
        when they may have changed since (lifecycle/jupyter_sessions.py)."""
        await self.tracker.sessions.refresh_if_stale(self.tracker.kernels)

    def prompts_for(self, tracked: TrackedKernel) -> tuple[str, str]:
        defaults = self.prompts.get(tracked.language.lower())
        if defaults is None:
            defaults = [self.default_input_prompt, self.default_continuation_prompt]
        return (
            tracked.overrides.get("input_prompt", defaults[0]),
            tracked.overrides.get("continuation_prompt", defaults[1]),
        )

    def connections(self, kernel_id: str) -> int:
        return self.tracker.connections(kernel_id)

    def culling_info(self, tracked: TrackedKernel) -> CullingInfo | None:
        return self.culling.info(tracked)

    def history(
        self, kernel_id: str, limit: int | None = None
    ) -> tuple[int, list[FinishedExecution]]:
        """(executions finished over the kernel's life, the last `limit` kept),
        of a live kernel or an ended one."""
        try:
            history = self.get(kernel_id).state.history
        except UnknownKernel:
            return self.ended.history(kernel_id, limit)
        return history.total, history.executions(limit)

    def ended_kernels(self) -> list[EndedKernel]:
        """Kernels that are gone, newest first."""
        self.tracker.sync(processes=False)
        return self.ended.records()


# What `--help-all` documents, for the server extension and the CLI alike.
CONFIGURABLE_CLASSES: list[type[Configurable]] = [
    SessionRegistry,
    SessionEvents,
    EndedSessions,
    SessionStore,
    MemoryWatch,
    SessionMetrics,
    AgentTools,
    KernelOutput,
]
