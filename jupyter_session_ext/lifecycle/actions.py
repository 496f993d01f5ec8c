"""What a client may do to a kernel through the extension: change its
display name, prompts or idle timeout, interrupt, restart, shut down, kill.
Each goes through the server's kernel manager, as the server's own routes
do, and leaves a note of why a kernel is about to go (`ended.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from jupyter_core.utils import ensure_async

from .. import server_hooks
from ..state.changes import Changes
from ..state.ended import SHUTDOWN
from ..state.kernel_state import EXITED
from ..state.record import TrackedKernel
from . import process as kernel_process
from .culling import Culling
from .ended import EndedSessions
from .tracker import KernelTracker


class KernelActions:
    def __init__(
        self,
        kernel_manager: Any,
        tracker: KernelTracker,
        ended: EndedSessions,
        culling: Culling,
        changes: Changes,
        get: Callable[[str], TrackedKernel],
        kernel_info_timeout: Callable[[], float],
    ) -> None:
        self.kernel_manager = kernel_manager
        self.tracker = tracker
        self.ended = ended
        self.culling = culling
        self.changes = changes
        self._get = get  # the record, reconciled first; UnknownKernel if none
        self._kernel_info_timeout = kernel_info_timeout

    def update(self, kernel_id: str, changes: dict[str, Any]) -> TrackedKernel:
        """Apply validated PATCH changes; None resets a field to its default."""
        tracked = self._get(kernel_id)
        for name, value in changes.items():
            if name == "idle_timeout":
                tracked.idle_timeout = value
                self.culling.reschedule()
            elif value is None:
                tracked.overrides.pop(name, None)
            else:
                tracked.overrides[name] = value
        self.changes.changed(tracked, "updated")
        return tracked

    async def kill(self, kernel_id: str) -> None:
        """End the kernel at once: its process and every process it started
        are killed, no shutdown_request (a kernel that ignores interrupt and
        shutdown). A remote kernel gets a plain shutdown."""
        tracked = self._get(kernel_id)
        self.ended.note(
            kernel_id,
            SHUTDOWN,
            by=server_hooks.requesting_user(),
            forced=not tracked.remote,
            replace=True,
        )
        if not tracked.remote:
            channels = self.tracker.channels.get(kernel_id)
            stop_restarter = getattr(channels.km, "stop_restarter", None) if channels else None
            if stop_restarter is not None:
                stop_restarter()  # or it would start the killed kernel again
            if tracked.pid is not None and tracked.state.status != EXITED:
                kernel_process.kill_tree(tracked.pid)
        await self._remove_kernel(kernel_id, now=True)

    async def _remove_kernel(self, kernel_id: str, now: bool = False) -> None:
        await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id, now=now))
        await self.tracker.sessions.purge()
        self.tracker.sync()

    async def interrupt(self, kernel_id: str) -> TrackedKernel:
        tracked = self._get(kernel_id)
        # jupyter_client honours the kernelspec's interrupt_mode (signal/message).
        await ensure_async(self.kernel_manager.interrupt_kernel(kernel_id))
        return tracked

    async def restart(self, kernel_id: str) -> TrackedKernel:
        """Restart through the kernel manager and return once the new process
        has answered kernel_info (or the timeout passed)."""
        self._get(kernel_id)
        await ensure_async(self.kernel_manager.restart_kernel(kernel_id))
        self.tracker.sync()
        tracked = self._get(kernel_id)
        try:
            await asyncio.wait_for(tracked.ready.wait(), self._kernel_info_timeout())
        except (TimeoutError, asyncio.TimeoutError):
            pass
        return tracked

    async def shutdown(self, kernel_id: str) -> None:
        """Shut the kernel down; the Jupyter sessions bound to it go with it."""
        self._get(kernel_id)
        await self._remove_kernel(kernel_id)
