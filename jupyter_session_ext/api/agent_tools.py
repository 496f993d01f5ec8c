"""What AI agents may ask of the kernels: the tools behind the MCP endpoint
(`mcp_endpoint.py`) and behind jupyter-server-mcp (`agent_beside.py`).

Each tool takes arguments shaped by `agent_schemas.arguments` and answers
a structured result (`serialize_agents.py`); what a caller may see and do
comes with the call (`Caller`), decided where the request entered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from traitlets import Bool, Float, TraitError, validate
from traitlets.config import LoggingConfigurable

from ..state.kernel_state import EXITED, IDLE, READY
from ..state.record import TrackedKernel, UnknownKernel
from . import serialize, serialize_agents
from .agent_schemas import (
    FORBIDDEN,
    INVALID_PARAMS,
    LIMIT_DEFAULT,
    WAIT_DEFAULT,
    ToolError,
    preview,
)
from .registry_view import Registry

# At most this many waits at once (each is told of every change of every
# kernel until it returns); more are refused until one returns.
MAX_WAITS = 100
# What one wait lists of the executions that finished meanwhile.
FINISHED_SHOWN = 50
# The shortest unique prefix of a kernel id taken for the id.
ID_PREFIX_MIN = 4


async def _never() -> bool:
    return False


@dataclass(frozen=True)
class Caller:
    """What the caller may see and do, as the server's Authorizer says:
    `reveal`, code, argv and env (`execute` on kernels, as for REST);
    `may_interrupt`, asked only when it tries."""

    reveal: bool
    may_interrupt: Callable[[], Awaitable[bool]] = _never


def normal_path(path: str) -> str:
    """A notebook path as the contents API writes it (no leading ./ or /)."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


class AgentTools(LoggingConfigurable):
    """The tools AI agents use through MCP (see the docs' page for agents)."""

    max_wait_seconds = Float(
        600.0,
        help="""The longest `wait_for_idle` may wait, in seconds: a larger
        `timeout_seconds` is refused (a client that needs longer asks again).""",
    ).tag(config=True)

    show_code_without_login = Bool(
        False,
        help="""Whether the tools served through jupyter-server-mcp answer as to
        a user who may execute (with code, argv and initial_env). Its MCP port
        has no login: anyone who reaches it is a caller, so by default they are
        answered as a reader is. The endpoint api/active-sessions/mcp is not
        affected: it answers what the server's Authorizer allows.""",
    ).tag(config=True)

    @validate("max_wait_seconds")
    def _check_wait(self, proposal: Any) -> float:
        value = proposal.value
        if not 0 < value <= 24 * 3600:
            raise TraitError("AgentTools.max_wait_seconds must be more than 0 and at most a day.")
        return float(value)

    def __init__(self, registry: Registry | None, root_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._registry = registry
        self.root_dir = root_dir
        self.waiting = 0  # waits in progress

    @property
    def registry(self) -> Registry:
        assert self._registry is not None  # (None only where routes are listed)
        return self._registry

    # -- which kernel ------------------------------------------------------------------

    def resolve(self, kernel: str, ended: bool = False) -> str:
        """The id of the kernel `kernel` names: its id, a unique prefix of it,
        or the path of its notebook; with `ended`, a kernel that ended too."""
        kernels = self.registry.all()
        ids = [t.kernel_id for t in kernels]
        if kernel in ids:
            return kernel
        path = normal_path(kernel)
        serving = [t.kernel_id for t in kernels if normal_path(t.notebook_path or "") == path]
        if len(serving) > 1:
            raise ToolError(
                INVALID_PARAMS,
                f"{len(serving)} kernels run {path!r}: {', '.join(serving)}. Name one by its id.",
            )
        if serving:
            return serving[0]
        found = self._by_prefix(kernel, ids)
        if found is not None:
            return found
        if ended:
            records = self.registry.ended_kernels()
            for record in records:  # newest first
                if record.session_id == kernel or (
                    record.notebook_path and normal_path(record.notebook_path) == path
                ):
                    return record.session_id
            found = self._by_prefix(kernel, [r.session_id for r in records])
            if found is not None:
                return found
        raise ToolError(
            INVALID_PARAMS,
            f"No kernel {preview(kernel)}"
            f"{'' if ended else ' runs'}: list_kernels names every kernel by its id "
            "and notebook.",
        )

    @staticmethod
    def _by_prefix(kernel: str, ids: list[str]) -> str | None:
        if len(kernel) < ID_PREFIX_MIN:
            return None
        matching = [i for i in ids if i.startswith(kernel)]
        return matching[0] if len(matching) == 1 else None

    def _get(self, kernel: str) -> TrackedKernel:
        kernel_id = self.resolve(kernel)
        try:
            return self.registry.get(kernel_id)
        except UnknownKernel:
            raise ToolError(INVALID_PARAMS, f"Kernel {kernel_id} just went away.") from None

    # -- the tools ---------------------------------------------------------------------

    async def list_kernels(self, caller: Caller) -> dict[str, Any]:
        await self.registry.refresh_bound()
        registry = self.registry
        return serialize_agents.kernel_list(registry.all(), registry.memory, caller.reveal)

    async def kernel_status(self, caller: Caller, kernel: str) -> dict[str, Any]:
        await self.registry.refresh_bound()
        tracked = self._get(kernel)
        return serialize_agents.kernel_status(self.registry, tracked, self.root_dir, caller.reveal)

    async def kernel_history(
        self, caller: Caller, kernel: str, limit: int = LIMIT_DEFAULT
    ) -> dict[str, Any]:
        complete = await self.registry.store.wait_read()
        kernel_id = self.resolve(kernel, ended=True)
        try:
            total, executions = self.registry.history(kernel_id, limit)
        except UnknownKernel:
            raise ToolError(INVALID_PARAMS, f"Kernel {kernel_id} has no history kept.") from None
        history = serialize.history(total, executions, caller.reveal, complete)
        return {"kernel": kernel_id, "history": history}

    async def ended_kernels(self, caller: Caller, limit: int = LIMIT_DEFAULT) -> dict[str, Any]:
        complete = await self.registry.store.wait_read()
        records = self.registry.ended_kernels()
        answer = serialize.ended(records[:limit], self.root_dir, caller.reveal, complete)
        answer["total"] = len(records)
        return answer

    async def memory_headroom(self, caller: Caller) -> dict[str, Any]:
        await self.registry.refresh_bound()
        registry = self.registry
        return serialize_agents.headroom(registry.all(), registry.memory, caller.reveal)

    async def interrupt_kernel(self, caller: Caller, kernel: str) -> dict[str, Any]:
        tracked = self._get(kernel)
        if not await caller.may_interrupt():
            raise ToolError(
                FORBIDDEN,
                "Not allowed: interrupting a kernel needs permission to execute code on "
                "kernels (and to change them), which this server's Authorizer does not "
                "give this user.",
            )
        tracked = await self.registry.actions.interrupt(tracked.kernel_id)
        return serialize_agents.interrupted(tracked, caller.reveal)

    async def wait_for_idle(
        self, caller: Caller, kernel: str, timeout_seconds: float = WAIT_DEFAULT
    ) -> dict[str, Any]:
        """Return once the kernel is idle (or blocked on input, or gone), or
        the timeout passed. Woken by the registry's change notifications, not
        by polling; the listener leaves whatever ends the wait (a client that
        went away cancels it)."""
        if self.waiting >= MAX_WAITS:
            raise ToolError(
                INVALID_PARAMS,
                f"{MAX_WAITS} waits are in progress on this server; ask again when one returns.",
            )
        tracked = self._get(kernel)
        kernel_id = tracked.kernel_id
        history = tracked.state.history
        total_before = history.total
        began = time.monotonic()
        changed = asyncio.Event()

        def listener(changed_kernel: TrackedKernel, actions: tuple[str, ...]) -> None:
            # Woken only by a change that can end the wait: a run of queued
            # cells changes the kernel several times a cell, and a wake-up
            # reconciles with the kernel manager (`_settled`).
            if changed_kernel.kernel_id == kernel_id and (
                changed_kernel is not tracked
                or "removed" in actions
                or _state_settled(changed_kernel) is not None
            ):
                changed.set()

        changes = self.registry.changes
        changes.listen(listener)
        self.waiting += 1
        try:
            while True:
                outcome = self._settled(tracked)
                left = timeout_seconds - (time.monotonic() - began)
                if outcome is not None or left <= 0:
                    break
                changed.clear()
                try:
                    await asyncio.wait_for(changed.wait(), left)
                except asyncio.TimeoutError:
                    pass
        finally:
            changes.unlisten(listener)
            self.waiting -= 1
        total = history.total - total_before
        shown = list(reversed(history.executions(min(total, FINISHED_SHOWN)))) if total else []
        return serialize_agents.waited(
            tracked,
            outcome or "timeout",
            time.monotonic() - began,
            shown,
            total,
            caller.reveal,
        )

    def _settled(self, tracked: TrackedKernel) -> str | None:
        """Why a wait on `tracked` is over, or None while it is not."""
        try:
            current = self.registry.get(tracked.kernel_id)
        except UnknownKernel:
            return "ended"
        if current is not tracked:
            return "ended"  # another kernel took its id: not the one waited for
        return _state_settled(tracked)

    # -- by name -------------------------------------------------------------------------

    def call(
        self, name: str, caller: Caller, arguments: dict[str, Any]
    ) -> Awaitable[dict[str, Any]]:
        """The tool `name` called with shaped `arguments`."""
        method: Callable[..., Awaitable[dict[str, Any]]] = getattr(self, name)
        return method(caller, **arguments)


def _state_settled(tracked: TrackedKernel) -> str | None:
    """Why a wait on `tracked` is over by its state alone, or None."""
    state = tracked.state
    if state.status == EXITED:
        return "exited"
    if state.awaiting_input is not None:
        return "awaiting_input"
    if state.status in (IDLE, READY) and state.queue.active is None and not len(state.queue):
        return "idle"
    return None
