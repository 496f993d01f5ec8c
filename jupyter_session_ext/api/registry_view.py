"""What the HTTP routes and the agent tools ask of the registry
(registry.SessionRegistry) and its store: one description for both, so that
they read the same kernels the same way."""

from __future__ import annotations

from typing import Protocol

from ..lifecycle.actions import KernelActions
from ..memory.limits import MemoryWatch
from ..state.changes import Changes
from ..state.ended import EndedKernel
from ..state.history import FinishedExecution
from ..state.record import TrackedKernel
from .serialize import SessionSource


class Store(Protocol):
    """lifecycle.persistence.SessionStore, as the routes wait for it."""

    async def wait_read(self) -> bool: ...


class Registry(SessionSource, Protocol):
    actions: KernelActions
    changes: Changes
    memory: MemoryWatch

    @property
    def store(self) -> Store: ...

    def get(self, kernel_id: str) -> TrackedKernel: ...
    def all(self) -> list[TrackedKernel]: ...
    async def refresh_bound(self) -> None: ...
    def history(
        self, kernel_id: str, limit: int | None = None
    ) -> tuple[int, list[FinishedExecution]]: ...
    def ended_kernels(self) -> list[EndedKernel]: ...
