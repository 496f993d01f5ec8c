"""Remote kernels (a Kernel or Enterprise Gateway): no process here to watch.
What the gateway's websocket relays tells about them (traffic/websocket.py);
while no client carries their traffic, or while they start, the gateway's
own kernel model does."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..state.changes import Changes
from ..state.kernel_state import OFFLINE, STARTING
from ..state.record import TrackedKernel
from .channels import KernelChannels


class RemoteKernels:
    def __init__(
        self,
        kernels: Mapping[str, TrackedKernel],
        channels: Mapping[str, KernelChannels],
        changes: Changes,
        log: logging.Logger,
    ) -> None:
        self._kernels, self._channels = kernels, channels  # owned by the KernelTracker
        self.changes = changes
        self.log = log

    def unwatched(self) -> list[TrackedKernel]:
        """Remote kernels no client's traffic tells about, or still starting."""
        return [
            t
            for t in self._kernels.values()
            if t.remote and (t.clients == 0 or t.state.status == STARTING)
        ]

    async def refresh(self, kernels: list[TrackedKernel]) -> None:
        """Ask the gateway how they are doing."""
        for tracked in kernels:
            channels = self._channels.get(tracked.kernel_id)
            if channels is None:
                continue
            try:
                await channels.km.refresh_model()
            except Exception:
                self.log.debug(
                    "Active sessions: gateway model of %s not refreshed",
                    tracked.kernel_id,
                    exc_info=True,
                )
                continue
            if self._kernels.get(tracked.kernel_id) is not tracked:
                continue
            before = self.changes.before(tracked)
            tracked.state.on_reported_state(getattr(channels.km, "execution_state", None))
            self.changes.since(tracked, before)
            if tracked.state.status not in (STARTING, OFFLINE):
                tracked.ready.set()
