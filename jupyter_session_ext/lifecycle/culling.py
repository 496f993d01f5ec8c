"""Idle culling as users need to see it: when will this kernel be culled, by
whose rule, and a per-kernel idle timeout the real culling obeys.

jupyter_server's culler (`MappingKernelManager.cull_kernels`) stays in charge
of every kernel that follows the server's rule. A kernel with its own timeout
(PATCH `idle_timeout`) is left out of it and culled here instead, on the same
terms (`cull_busy`, `cull_connected`, `cull_interval`), whether or not the
server culls at all. The per-kernel timeout lives on the `TrackedKernel`.
The wrap of the server's culler is in server_hooks.py.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from jupyter_core.utils import ensure_async
from tornado.ioloop import PeriodicCallback

from .. import server_hooks
from ..state.ended import CULLED
from ..state.kernel_state import BUSY
from ..state.record import TrackedKernel
from ..state.timestamps import utcnow
from .ended import EndedSessions

DEFAULT_CULL_INTERVAL = 300  # jupyter_server's own default


class CullingInfo(NamedTuple):
    """What will cull a kernel, and when (a kernel's `culling` field)."""

    idle_timeout: int
    source: str  # "server", "kernelspec" or "session"
    cull_busy: bool
    cull_connected: bool
    eligible: bool
    cull_after: datetime | None
    seconds_left: int | None


class Culling:
    def __init__(
        self,
        kernels: Mapping[str, TrackedKernel],
        kernel_manager: Any,
        ended: EndedSessions,
        connections: Callable[[str], int],
        log: logging.Logger,
    ) -> None:
        self._kernels = kernels  # owned by the KernelTracker
        self._kernel_manager = kernel_manager
        self._ended = ended
        self._connections = connections
        self.log = log
        self._loop: PeriodicCallback | None = None
        self._loop_interval = 0.0
        self._hook: server_hooks.MethodHook | None = None

    # -- the server's settings, read when used (an admin may change them) -------------

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(self._kernel_manager, name, default)

    @property
    def server_timeout(self) -> int:
        value = self._setting("cull_idle_timeout", 0)
        return value if isinstance(value, int) else 0

    @property
    def interval(self) -> int:
        value = self._setting("cull_interval", DEFAULT_CULL_INTERVAL)
        return value if isinstance(value, int) and value > 0 else DEFAULT_CULL_INTERVAL

    def rule(self, tracked: TrackedKernel) -> tuple[int, str] | None:
        """(idle timeout, source) that culls this kernel, or None if nothing will."""
        if tracked.remote:
            return None  # a gateway culls its own kernels, on its own terms
        if tracked.idle_timeout is not None:
            return (tracked.idle_timeout, "session") if tracked.idle_timeout > 0 else None
        if self.server_timeout <= 0:
            return None  # the server's culler never runs
        from_spec = tracked.spec.cull_idle_timeout
        if isinstance(from_spec, int) and not isinstance(from_spec, bool):
            return from_spec, "kernelspec"
        return self.server_timeout, "server"

    def eligible(self, tracked: TrackedKernel) -> bool:
        """Whether the kernel's state lets it be culled, as jupyter_server's
        culler decides it."""
        if not self._setting("cull_busy", False) and tracked.state.status == BUSY:
            return False
        if not self._setting("cull_connected", False) and self._connections(tracked.kernel_id):
            return False
        return True

    def info(self, tracked: TrackedKernel) -> CullingInfo | None:
        """The kernel's `culling` field (changes with the clock)."""
        rule = self.rule(tracked)
        if rule is None:
            return None
        timeout, source = rule
        eligible = self.eligible(tracked)
        cull_after = seconds_left = None
        if eligible:
            cull_after = tracked.last_activity() + timedelta(seconds=timeout)
            seconds_left = max(0, math.ceil((cull_after - utcnow()).total_seconds()))
        return CullingInfo(
            timeout,
            source,
            bool(self._setting("cull_busy", False)),
            bool(self._setting("cull_connected", False)),
            eligible,
            cull_after,
            seconds_left,
        )

    # -- doing it --------------------------------------------------------------------

    def start(self) -> None:
        if self._hook is None:
            # The server's culler skips a kernel with its own timeout (`check`
            # rules it), and says why a kernel it culls went.
            self._hook = server_hooks.around_cull_kernel_if_idle(
                self._kernel_manager, self._own_rule, self._noting, self._noted
            )
        self.reschedule()

    def _own_rule(self, kernel_id: str) -> bool:
        tracked = self._kernels.get(kernel_id)
        return (
            tracked is not None
            and tracked.idle_timeout is not None
            and getattr(self._kernel_manager.get_kernel(kernel_id), "execution_state", None)
            != "dead"
        )

    def _noting(self, kernel_id: str) -> bool:
        return self._ended.note(kernel_id, CULLED)

    def _noted(self, kernel_id: str, taken: bool) -> None:
        if taken and kernel_id in self._kernel_manager:
            self._ended.forget(kernel_id)  # not culled this time

    def reschedule(self) -> None:
        """Run `check` every cull_interval while any kernel has its own timeout."""
        wanted = any(t.idle_timeout for t in self._kernels.values())
        if self._loop is not None and (not wanted or self._loop_interval != self.interval):
            self._loop.stop()
            self._loop = None
        if wanted and self._loop is None:
            self._loop_interval = self.interval
            self._loop = PeriodicCallback(self.check, 1000 * self._loop_interval)
            self._loop.start()

    async def check(self) -> None:
        """Cull the kernels whose own timeout has passed."""
        for tracked in list(self._kernels.values()):
            if not tracked.idle_timeout or self.rule(tracked) is None:
                continue
            idle = (utcnow() - tracked.last_activity()).total_seconds()
            if idle <= tracked.idle_timeout or not self.eligible(tracked):
                continue
            kernel_id = tracked.kernel_id
            self.log.warning(
                "Active sessions: culling kernel %s (%s) after %d seconds of inactivity "
                "(its own idle timeout is %d s).",
                kernel_id,
                tracked.kernel_name,
                idle,
                tracked.idle_timeout,
            )
            taken = self._ended.note(kernel_id, CULLED)
            try:
                await ensure_async(self._kernel_manager.shutdown_kernel(kernel_id))
            except Exception:
                if taken:
                    self._ended.forget(kernel_id)
                self.log.exception("Active sessions: culling kernel %s failed", kernel_id)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        if self._hook is not None:
            self._hook.uninstall()
            self._hook = None
