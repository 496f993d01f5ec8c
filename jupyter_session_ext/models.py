"""Where one session's state lives: a `TrackedKernel` per kernel of the
server's kernel manager, and the small value types around it.

`TrackedKernel` owns its own resets (a new launch, an exit, closing its
channels), so no other module reaches into its private fields. Which kernels
exist, and when they change, is `tracking.py`'s job.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, NamedTuple

from . import kernel_process
from .iopub_traffic import IOPubObserver
from .kernel_process import ProcessSnapshot
from .session_state import SessionState

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
    """Everything known about one kernel."""

    # Remote kernels keep the last msg_ids of IOPub seen, to count each once.
    SEEN_IOPUB = 512

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
        self._seen_iopub: OrderedDict[str, None] = OrderedDict()
        self.kernel_info_task: asyncio.Task[None] | None = None
        self._spec_facts: SpecFacts | None = None  # see spec_facts(); reset at each launch
        # Counts the visible changes (changes.Changes.changed): what was
        # encoded at one revision holds until the next (see serialize.py).
        self.revision = 0
        # Set once the current process has answered kernel_info.
        self.ready = asyncio.Event()

    # -- resets ------------------------------------------------------------------

    def close_channels(self) -> None:
        """Stop listening to the kernel: IOPub, and a kernel_info in flight."""
        if self.iopub is not None:
            self.iopub.close()
            self.iopub = None
        task, self.kernel_info_task = self.kernel_info_task, None
        if task is not None and not task.done():
            task.cancel()

    def on_launch(self, process: ProcessSnapshot, working_directory: str) -> None:
        """A new process for this kernel (first start or restart): nothing the
        last one said holds."""
        self.close_channels()
        self._spec_facts = None  # read afresh for the new process
        self.ready.clear()
        self.process = process
        self.working_directory = working_directory
        self.resource_usage = None
        self.state.on_launch()

    def on_exit(self) -> bool:
        """The process is gone; True when that is news."""
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
