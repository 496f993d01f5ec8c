"""The Jupyter sessions (notebooks, consoles) bound to each kernel, as the
server's session manager lists them: a notebook opened, renamed or closed
is a change of its kernel's record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jupyter_core.utils import ensure_async

from .. import server_hooks
from ..state.changes import Changes
from ..state.record import JUPYTER_SESSION_FIELDS, TrackedKernel


class BoundSessions:
    def __init__(self, session_manager: Any, changes: Changes) -> None:
        self.session_manager = session_manager
        self.changes = changes
        # JUPYTER_SESSION_FIELDS of the sessions bound to each kernel, as last seen.
        self._seen: dict[str, tuple[tuple[str, ...], ...]] = {}
        # Whether the sessions may have changed since the last look: set by
        # the session manager's writes (`watch`) and by a kernel newly
        # followed. A reader looks again only then (listing the sessions of
        # 100 kernels on every read of the list was a sixth of what it
        # cost); the periodic check looks anyway.
        self.stale = True
        self._hooks: list[server_hooks.MethodHook] = []

    def watch(self) -> None:
        if self.session_manager is not None and not self._hooks:
            self._hooks = server_hooks.after_session_writes(self.session_manager, self._written)

    def unwatch(self) -> None:
        for hook in self._hooks:
            hook.uninstall()
        self._hooks = []

    def _written(self) -> None:
        self.stale = True

    async def refresh_if_stale(self, kernels: Mapping[str, TrackedKernel]) -> None:
        if self.stale or not all(h.installed for h in self._hooks) or not self._hooks:
            self.stale = False  # a write while we look makes it stale again
            await self.refresh(kernels)

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
