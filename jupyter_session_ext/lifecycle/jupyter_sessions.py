"""The Jupyter sessions (notebooks, consoles) bound to each kernel, as the
server's session manager lists them: a notebook opened, renamed or closed
is a change of its kernel's record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jupyter_core.utils import ensure_async

from ..state.changes import Changes
from ..state.record import JUPYTER_SESSION_FIELDS, TrackedKernel


class BoundSessions:
    def __init__(self, session_manager: Any, changes: Changes) -> None:
        self.session_manager = session_manager
        self.changes = changes
        # JUPYTER_SESSION_FIELDS of the sessions bound to each kernel, as last seen.
        self._seen: dict[str, tuple[tuple[str, ...], ...]] = {}

    async def refresh(self, kernels: Mapping[str, TrackedKernel]) -> None:
        """Look again: each record's `bound`, and a "sessions" change for a
        kernel whose sessions changed since the last look."""
        if self.session_manager is None:
            return
        bound: dict[str, list[dict[str, Any]]] = {}
        for model in await ensure_async(self.session_manager.list_sessions()):
            kernel = model.get("kernel") or {}
            if kernel.get("id"):
                bound.setdefault(kernel["id"], []).append(model)
        for kernel_id, tracked in list(kernels.items()):
            tracked.bound = bound.get(kernel_id, [])
            seen = tuple(
                sorted(tuple(str(m.get(k)) for k in JUPYTER_SESSION_FIELDS) for m in tracked.bound)
            )
            if self._seen.get(kernel_id, ()) != seen:
                self._seen[kernel_id] = seen
                self.changes.changed(tracked, "sessions")
        for kernel_id in set(self._seen) - set(kernels):
            del self._seen[kernel_id]

    async def purge(self) -> None:
        """Rows of kernels that are gone are purged when sessions are listed."""
        if self.session_manager is not None:
            await ensure_async(self.session_manager.list_sessions())
