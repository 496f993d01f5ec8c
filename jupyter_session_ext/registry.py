"""Where every session's state lives: one `TrackedKernel` per kernel of the
server's kernel manager, owned by the `SessionRegistry`.

The registry follows the kernel manager (it never starts kernels itself): it
reconciles with `kernel_manager.list_kernel_ids()` on the server's kernel
action events, on a periodic tick and before answering a request, notices
restarts by a change of process, and feeds IOPub traffic to each kernel's
`SessionState`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, NamedTuple

from jupyter_core.utils import ensure_async
from tornado.ioloop import PeriodicCallback
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
from traitlets.config import LoggingConfigurable

from . import kernel_process
from .iopub_traffic import IOPubObserver, request_kernel_info
from .kernel_process import ProcessSnapshot, ResourceSampler
from .session_events import SessionEvents
from .session_state import BUSY, EXITED, IDLE, OFFLINE, STARTING, SessionState, isoformat

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"

DEFAULT_SECRET_PATTERNS = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"]


@dataclass(frozen=True)
class _Visible:
    """The parts of a session's state whose change is an event of its own."""

    status: str
    queue_version: int
    awaiting_input: Any

    @classmethod
    def of(cls, tracked: "TrackedKernel") -> "_Visible":
        state = tracked.state
        return cls(state.status, state.queue.version, state.awaiting_input)


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


class TrackedKernel:
    """Everything known about one kernel. Only the registry mutates it."""

    def __init__(self, kernel_id: str, km: Any, state: SessionState) -> None:
        self.kernel_id = kernel_id
        self.km = km
        self.state = state
        self.process: ProcessSnapshot | None = None
        self.working_directory: str = ""
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
        self.seen_iopub: OrderedDict[str, None] = OrderedDict()
        self.kernel_info_task: asyncio.Task[None] | None = None
        self._spec_facts: SpecFacts | None = None  # see spec_facts(); reset at each launch
        # Counts the visible changes (SessionRegistry._changed): what was
        # encoded at one revision holds until the next (see serialize.py).
        self.revision = 0
        # Set once the current process has answered kernel_info.
        self.ready = asyncio.Event()

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

    secret_env_patterns = List(
        Unicode(),
        default_value=DEFAULT_SECRET_PATTERNS,
        help="""Regular expressions (case-insensitive, matched anywhere in the
        name) of environment variable names whose values `initial_env` shows as
        "<redacted>".""",
    ).tag(config=True)

    resource_sampling_interval = Float(
        5.0,
        help="""Seconds between background samples of each kernel's CPU, memory
        and threads (the kernel process and its children). 0 turns sampling off
        (`resource_usage` is then null).""",
    ).tag(config=True)

    @validate("code_preview_length")
    def _check_preview_length(self, proposal: Any) -> int:
        if proposal.value < 0:
            raise TraitError("SessionRegistry.code_preview_length must be 0 (no cut) or more.")
        return proposal.value

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
        self._secret_names = kernel_process.compile_redaction(change.new)

    kernel_manager = Instance("jupyter_client.multikernelmanager.MultiKernelManager")
    session_manager = Instance(
        "jupyter_server.services.sessions.sessionmanager.SessionManager", allow_none=True
    )
    event_logger = Instance("jupyter_events.EventLogger", allow_none=True)

    server_env = Dict(help="The server's own environment, against which initial_env is taken.")

    @default("server_env")
    def _server_env_default(self) -> dict[str, str]:
        return dict(os.environ)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kernels: dict[str, TrackedKernel] = {}
        self._ticker: PeriodicCallback | None = None
        self._bound_check: asyncio.Future[Any] | None = None
        self._remote_check: asyncio.Future[Any] | None = None
        # JUPYTER_SESSION_FIELDS of the Jupyter sessions bound to each kernel, as
        # last seen: notebooks opened, renamed or closed are changes too.
        self._bound_seen: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._sampler_task: asyncio.Task[None] | None = None
        self._sampler = ResourceSampler()
        self.events = SessionEvents(self.describe, parent=self, event_logger=self.event_logger)
        self._listening = False
        self._started = False
        self._stopped = False
        self._secret_names = kernel_process.compile_redaction(self.secret_env_patterns)
        # Server-wide busy/idle (spec §4): ids of busy kernels, and the monotonic
        # instants at which the server as a whole became busy / idle.
        self._busy_ids: set[str] = set()
        self._server_busy_since: float | None = None
        self._server_idle_since: float = time.monotonic()

    # -- lifecycle of the registry ------------------------------------------------

    def start(self) -> None:
        """Begin following the kernel manager. Needs the running event loop;
        idempotent, so handlers may call it too (tests never run the server's
        start hooks)."""
        if self._stopped or self._started:
            return
        self._started = True
        if not self._listening and self.event_logger is not None:
            self.event_logger.add_listener(
                schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action
            )
            self._listening = True
        if self._ticker is None:
            self._ticker = PeriodicCallback(self._tick, max(0.05, self.poll_interval) * 1000)
            self._ticker.start()
        if self._sampler_task is None and self.resource_sampling_interval > 0:
            self._sampler_task = asyncio.ensure_future(self._sample_resources())
        self.sync()

    def stop(self) -> None:
        self._stopped = True
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        for check in (self._bound_check, self._remote_check):
            if check is not None:
                check.cancel()
        if self._sampler_task is not None:
            self._sampler_task.cancel()
            self._sampler_task = None
        if self._listening and self.event_logger is not None:
            self.event_logger.remove_listener(
                schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action
            )
            self._listening = False
        for kernel_id in list(self._kernels):
            self._remove(kernel_id)
        self.events.close()

    async def _on_kernel_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        # start/restart/shutdown/interrupt through the server: follow at once.
        # (A kernel's "start" event fires just before the kernel manager lists
        # it; the next sync catches it.)
        self.sync()
        if data.get("action") == "start":
            await asyncio.sleep(0)
            self.sync()
        tracked = self._kernels.get(data.get("kernel_id") or "")
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

    def _tick(self) -> None:
        try:
            self.sync()
            self._retry_kernel_info()
        except Exception:
            self.log.exception("Active sessions: periodic check failed")
        if self._bound_check is None or self._bound_check.done():
            self._bound_check = asyncio.ensure_future(self.bound_sessions())
        if self._remote_check is None or self._remote_check.done():
            quiet = [t for t in self._kernels.values() if t.remote and t.clients == 0
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
            if self._kernels.get(tracked.kernel_id) is not tracked:
                continue
            with self._watch(tracked):
                tracked.state.on_reported_state(getattr(tracked.km, "execution_state", None))
            if tracked.state.status not in (STARTING, OFFLINE):
                tracked.ready.set()

    # -- following the kernel manager ------------------------------------------------

    def sync(self) -> None:
        """Reconcile with the kernel manager: add new kernels, drop removed ones,
        notice restarts (new process) and deaths."""
        if self._stopped:
            return
        live = set(self.kernel_manager.list_kernel_ids())
        for kernel_id in list(self._kernels):
            if kernel_id not in live:
                self._remove(kernel_id)
        for kernel_id in live:
            try:
                km = self.kernel_manager.get_kernel(kernel_id)
            except KeyError:
                continue
            tracked = self._kernels.get(kernel_id)
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
            code_preview_length=self.code_preview_length,
        )
        tracked = TrackedKernel(kernel_id, km, state)
        self._kernels[kernel_id] = tracked
        self.log.debug("Active sessions: tracking kernel %s", kernel_id)
        self._on_process_launched(tracked, "added")

    def _remove(self, kernel_id: str) -> None:
        tracked = self._kernels.pop(kernel_id, None)
        if tracked is None:
            return
        self._close_channels(tracked)
        self._changed(tracked, "removed")
        self.log.debug("Active sessions: kernel %s removed", kernel_id)

    def _close_channels(self, tracked: TrackedKernel) -> None:
        if tracked.iopub is not None:
            tracked.iopub.close()
            tracked.iopub = None
        task, tracked.kernel_info_task = tracked.kernel_info_task, None
        if task is not None and not task.done():
            task.cancel()

    def _check_process(self, tracked: TrackedKernel) -> None:
        running = kernel_process.is_running(tracked.km)
        pid = kernel_process.kernel_pid(tracked.km)
        if running and pid is not None and pid != tracked.pid:
            # A new process for the same kernel id: restarted (by a client or
            # by jupyter_client's auto-restarter after a crash).
            tracked.restart_count += 1
            self._on_process_launched(tracked, "restarted")
        elif running is False and tracked.state.status != EXITED:
            self._close_channels(tracked)
            tracked.ready.clear()
            tracked.resource_usage = None
            if tracked.state.on_exit():
                self._changed(tracked, "exited")

    def _on_process_launched(self, tracked: TrackedKernel, action: str) -> None:
        self._close_channels(tracked)
        tracked._spec_facts = None  # read afresh for the new process
        tracked.ready.clear()
        tracked.process = kernel_process.snapshot(
            tracked.km,
            server_env=self.server_env,
            secret_names=self._secret_names,
            include_env=self.show_initial_env,
        )
        tracked.working_directory = (
            kernel_process.current_cwd(tracked.pid) or tracked.process.launch_cwd
        )
        tracked.resource_usage = None
        tracked.state.on_launch()
        if tracked.remote:
            # The gateway's websocket traffic tells about a remote kernel; when
            # no client carries it, the gateway's kernel model does (_tick).
            tracked.state.on_reported_state(getattr(tracked.km, "execution_state", None))
            self._changed(tracked, action)
            return
        self._changed(tracked, action)
        if kernel_process.is_running(tracked.km) is False:
            tracked.state.on_exit()
            self._changed(tracked, "exited")
            return
        try:
            tracked.iopub = IOPubObserver(
                tracked.km, lambda msg, t=tracked: self._on_iopub(t, msg), self.log
            )
        except Exception:
            self.log.warning(
                "Active sessions: cannot subscribe to IOPub of kernel %s",
                tracked.kernel_id,
                exc_info=True,
            )
        self._request_kernel_info(tracked)

    # -- kernel_info ---------------------------------------------------------------

    def _request_kernel_info(self, tracked: TrackedKernel) -> None:
        if tracked.kernel_info_task is not None and not tracked.kernel_info_task.done():
            return
        tracked.kernel_info_task = asyncio.ensure_future(self._fetch_kernel_info(tracked))

    async def _fetch_kernel_info(self, tracked: TrackedKernel) -> None:
        pid = tracked.pid
        try:
            content = await request_kernel_info(tracked.km, self.kernel_info_timeout)
        except (TimeoutError, asyncio.TimeoutError):
            if tracked.pid == pid and kernel_process.is_running(tracked.km) is not False:
                # Busy kernels answer shell requests only after the running cell;
                # that is not being offline.
                if tracked.state.status != BUSY and tracked.state.on_unresponsive():
                    self._changed(tracked, "status")
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
        if tracked.pid != pid or self._kernels.get(tracked.kernel_id) is not tracked:
            return  # answer from a process that has since been replaced
        with self._watch(tracked):
            tracked.state.on_kernel_info_reply(content)
        tracked.ready.set()
        self._changed(tracked, "kernel_info")

    def _retry_kernel_info(self) -> None:
        for tracked in self._kernels.values():
            if tracked.state.status in (STARTING, OFFLINE) and tracked.iopub is not None:
                self._request_kernel_info(tracked)

    # -- traffic -------------------------------------------------------------------

    def _on_iopub(self, tracked: TrackedKernel, msg: dict[str, Any]) -> None:
        with self._watch(tracked) as before:
            if not tracked.state.on_iopub(msg):
                return
        if before.status == BUSY and tracked.state.status == IDLE and not tracked.remote:
            # An execution finished: the cell may have changed directory.
            cwd = kernel_process.current_cwd(tracked.pid)
            if cwd and cwd != tracked.working_directory:
                tracked.working_directory = cwd
                self._changed(tracked, "working_directory")

    # websocket traffic (websocket_traffic.py) -------------------------------------

    def on_client_message(
        self, kernel_id: str, channel: str | None, msg: dict[str, Any], username: str | None
    ) -> None:
        """A client sent `execute_request` (shell) or `input_reply` (stdin)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        msg_type = (msg.get("header") or {}).get("msg_type")
        with self._watch(tracked):
            if channel == "shell" and msg_type == "execute_request":
                tracked.state.on_execute_request(msg, username=username)
            elif channel == "stdin" and msg_type == "input_reply":
                tracked.state.on_input_reply()

    def on_kernel_message(self, kernel_id: str, channel: str, msg: dict[str, Any]) -> None:
        """The kernel sent `execute_reply` (shell) or `input_request` (stdin)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        msg_type = msg["header"].get("msg_type")
        with self._watch(tracked):
            if channel == "shell" and msg_type == "execute_reply":
                tracked.state.on_execute_reply(msg)
            elif channel == "stdin" and msg_type == "input_request":
                tracked.state.on_input_request(msg)

    def on_connections_changed(self, kernel_id: str, delta: int = 0) -> None:
        tracked = self._kernels.get(kernel_id)
        if tracked is not None:
            tracked.clients = max(0, tracked.clients + delta)
            self._changed(tracked, "connected")

    # Remote kernels keep the last msg_ids of IOPub seen, to count each once.
    SEEN_IOPUB = 512

    def on_gateway_message(self, kernel_id: str, msg: dict[str, Any]) -> None:
        """A message from a remote kernel, as the gateway's websocket relays it
        (IOPub included: there is no other way to see a remote kernel)."""
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            return
        channel = msg.get("channel")
        msg_type = (msg.get("header") or {}).get("msg_type")
        if channel == "iopub":
            msg_id = (msg.get("header") or {}).get("msg_id")
            if msg_id:
                if msg_id in tracked.seen_iopub:
                    return
                tracked.seen_iopub[msg_id] = None
                if len(tracked.seen_iopub) > self.SEEN_IOPUB:
                    tracked.seen_iopub.popitem(last=False)
            self._on_iopub(tracked, msg)
        elif channel == "shell" and msg_type == "kernel_info_reply":
            with self._watch(tracked):
                tracked.state.on_kernel_info_reply(msg.get("content") or {})
            tracked.ready.set()
            self._changed(tracked, "kernel_info")
        else:
            self.on_kernel_message(kernel_id, channel or "", msg)

    # -- changes ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _watch(self, tracked: TrackedKernel) -> Iterator[_Visible]:
        """Compare what clients can see before and after a state update and
        report each kind of change once."""
        before = _Visible.of(tracked)
        yield before
        after = _Visible.of(tracked)
        if after.status != before.status:
            self._changed(tracked, "status")
        if after.queue_version != before.queue_version:
            self._changed(tracked, "queue")
        if after.awaiting_input != before.awaiting_input:
            self._changed(tracked, "awaiting_input")

    def _changed(self, tracked: TrackedKernel, action: str) -> None:
        """Single point every visible change passes through."""
        tracked.revision += 1
        if action != "removed" and tracked.state.status == BUSY:
            self._busy_ids.add(tracked.kernel_id)
        else:
            self._busy_ids.discard(tracked.kernel_id)
        now = time.monotonic()
        if self._busy_ids and self._server_busy_since is None:
            self._server_busy_since = now
        elif not self._busy_ids and self._server_busy_since is not None:
            self._server_busy_since = None
            self._server_idle_since = now
        self.events.changed(tracked, action)

    def describe(self, tracked: TrackedKernel) -> dict[str, Any]:
        """The state an event carries (see event_schemas/active_session_v1.yaml)."""
        state = tracked.state
        active = state.queue.active
        return {
            "session_id": tracked.kernel_id,
            "status": state.status,
            "busy_seconds": state.busy_seconds(),
            "idle_seconds": state.idle_seconds(),
            "queue_length": len(state.queue),
            "active_msg_id": active.msg_id if active else None,
            "active_cell_id": active.cell_id if active else None,
            "execution_count": state.execution_count,
            "connections": self.connections(tracked.kernel_id),
            "working_directory": tracked.working_directory,
            "awaiting_input": state.awaiting_input,
            "process_id": tracked.pid if state.status != EXITED else None,
            "restart_count": tracked.restart_count,
        }

    def connections(self, kernel_id: str) -> int:
        tracked = self._kernels.get(kernel_id)
        if tracked is not None and tracked.remote:
            return tracked.clients
        counts = getattr(self.kernel_manager, "_kernel_connections", None)
        if isinstance(counts, dict):
            # jupyter_server's own count, as its kernel model reports it.
            return int(counts.get(kernel_id, 0))
        return tracked.clients if tracked is not None else 0

    # -- resources -------------------------------------------------------------------

    async def _sample_resources(self) -> None:
        """Sample CPU/memory/threads of every local kernel off the event loop."""
        loop = asyncio.get_running_loop()
        while not self._stopped:
            interval = self.resource_sampling_interval
            if interval <= 0:
                return
            pids = {
                t.kernel_id: t.pid
                for t in self._kernels.values()
                if t.pid is not None and t.state.status != EXITED
            }
            try:
                samples = await loop.run_in_executor(None, self._sampler.sample, list(pids.values()))
            except Exception:
                self.log.exception("Active sessions: resource sampling failed")
                samples = {}
            stamp = isoformat(datetime.now(timezone.utc))
            for kernel_id, pid in pids.items():
                tracked = self._kernels.get(kernel_id)
                usage = samples.get(pid)
                if tracked is None or tracked.pid != pid:
                    continue
                tracked.resource_usage = (
                    None
                    if usage is None
                    else {**usage, "sampling_period_ms": int(interval * 1000), "timestamp": stamp}
                )
            await asyncio.sleep(interval)

    # -- queries ---------------------------------------------------------------------

    def get(self, kernel_id: str) -> TrackedKernel:
        """The kernel's record, reconciled with the kernel manager first."""
        self.start()
        self.sync()
        tracked = self._kernels.get(kernel_id)
        if tracked is None:
            raise UnknownSession(kernel_id)
        return tracked

    def snapshot(self) -> list[TrackedKernel]:
        """The tracked kernels as they are, without reconciling first (for
        readers off the request path, such as metrics)."""
        return list(self._kernels.values())

    def all(self) -> list[TrackedKernel]:
        """Every kernel's record, oldest first, reconciled first."""
        self.start()
        self.sync()
        return sorted(self._kernels.values(), key=lambda t: (t.process.started, t.kernel_id))

    def prompts_for(self, tracked: TrackedKernel) -> tuple[str, str]:
        defaults = self.prompts.get(tracked.language.lower())
        if defaults is None:
            defaults = [self.default_input_prompt, self.default_continuation_prompt]
        return (
            tracked.overrides.get("input_prompt", defaults[0]),
            tracked.overrides.get("continuation_prompt", defaults[1]),
        )

    async def bound_sessions(self) -> dict[str, list[dict[str, Any]]]:
        """Jupyter sessions (notebooks, consoles) per kernel id."""
        bound: dict[str, list[dict[str, Any]]] = {}
        if self.session_manager is None:
            return bound
        for model in await ensure_async(self.session_manager.list_sessions()):
            kernel = model.get("kernel") or {}
            if kernel.get("id"):
                bound.setdefault(kernel["id"], []).append(model)
        for kernel_id, tracked in list(self._kernels.items()):
            seen = tuple(sorted(
                tuple(str(m.get(k)) for k in JUPYTER_SESSION_FIELDS)
                for m in bound.get(kernel_id, [])
            ))
            if self._bound_seen.get(kernel_id, ()) != seen:
                self._bound_seen[kernel_id] = seen
                self._changed(tracked, "sessions")
        for kernel_id in set(self._bound_seen) - set(self._kernels):
            del self._bound_seen[kernel_id]
        return bound

    @property
    def server_busy(self) -> bool:
        return bool(self._busy_ids)

    def server_busy_seconds(self) -> int:
        if self._server_busy_since is None:
            return 0
        return int(time.monotonic() - self._server_busy_since)

    def server_idle_seconds(self) -> int:
        if self._server_busy_since is not None:
            return 0
        return int(time.monotonic() - self._server_idle_since)

    # -- actions ---------------------------------------------------------------------

    def update(self, kernel_id: str, changes: dict[str, str | None]) -> TrackedKernel:
        """Apply validated PATCH changes; None resets a field to its default."""
        tracked = self.get(kernel_id)
        for name, value in changes.items():
            if value is None:
                tracked.overrides.pop(name, None)
            else:
                tracked.overrides[name] = value
        self._changed(tracked, "updated")
        return tracked

    async def interrupt(self, kernel_id: str) -> TrackedKernel:
        tracked = self.get(kernel_id)
        # jupyter_client honours the kernelspec's interrupt_mode (signal/message).
        await ensure_async(self.kernel_manager.interrupt_kernel(kernel_id))
        return tracked

    async def restart(self, kernel_id: str) -> TrackedKernel:
        """Restart through the kernel manager and return once the new process
        has answered kernel_info (or the timeout passed)."""
        self.get(kernel_id)
        await ensure_async(self.kernel_manager.restart_kernel(kernel_id))
        self.sync()
        tracked = self.get(kernel_id)
        try:
            await asyncio.wait_for(tracked.ready.wait(), self.kernel_info_timeout)
        except (TimeoutError, asyncio.TimeoutError):
            pass
        return tracked

    async def shutdown(self, kernel_id: str) -> None:
        """Shut the kernel down; the Jupyter sessions bound to it go with it."""
        self.get(kernel_id)
        await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id))
        if self.session_manager is not None:
            # Rows of kernels that are gone are purged when sessions are listed.
            await ensure_async(self.session_manager.list_sessions())
        self.sync()
