"""The memory the server and its kernels may use, how much of it is used, the
warning before the limit, and which SIGKILLs the out-of-memory killer sent.

Where the limit comes from, first found first:
1. the server's memory cgroup (or the ancestor with the smallest limit):
   what a container, a Kubernetes pod or systemd enforces;
2. `MEM_LIMIT` in the server's environment (bytes: JupyterHub's spawners set it);
3. `MemoryWatch.memory_limit`;
4. the host's memory.
`used_bytes` is the cgroup's working set where there is a cgroup with the
limit, the server's and its kernels' resident memory for 2 and 3, and the
host's used memory for 4.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import psutil
from traitlets import Float, Integer, TraitError, validate
from traitlets.config import LoggingConfigurable

from ..state.kernel_state import EXITED
from ..state.record import TrackedKernel
from . import cgroup, processes

CGROUP, ENV, CONFIG, HOST = "cgroup", "env", "config", "host"
# An OOM kill the counter showed is put down to a kernel whose SIGKILL is
# seen within this many seconds; one nobody claimed by then was another
# process's (a terminal's, a notebook server's child).
CLAIM_WINDOW = 60.0
# Kernels named in a warning.
LARGEST = 5


class MemoryReading(NamedTuple):
    limit_bytes: int | None
    used_bytes: int | None
    source: str
    oom_kills: int | None  # the cgroup's (or the host's) OOM kill counter


def _host_oom_kills() -> int | None:
    try:
        with open("/proc/vmstat", encoding="ascii") as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class MemoryWatch(LoggingConfigurable):
    memory_limit = Integer(
        0,
        help="""Bytes the server and its kernels may use, for the headroom shown
        in `api/active-sessions/status` and the panel, where neither the
        server's memory cgroup nor the MEM_LIMIT environment variable (set by
        JupyterHub's spawners) gives one. 0: the host's memory.""",
    ).tag(config=True)

    memory_warning_fraction = Float(
        0.9,
        help="""When memory used crosses this fraction of the limit, one
        `memory_warning` event names the largest kernels (JupyterLab shows a
        notification); again only after use fell back below it.""",
    ).tag(config=True)

    busy_sampling_interval = Float(
        0.5,
        help="""Seconds between samples of a kernel while it runs a cell, so an
        execution's peak memory (`memory_peak_bytes`) and a climb towards the
        limit are seen in time. 0 samples busy kernels like the others
        (SessionRegistry.resource_sampling_interval).""",
    ).tag(config=True)

    timeline_seconds = Float(
        3600.0,
        help="""Seconds of memory and CPU history kept per kernel for `GET
        api/active-sessions/{id}/resources` (one point per
        SessionRegistry.resource_sampling_interval).""",
    ).tag(config=True)

    @validate("busy_sampling_interval", "timeline_seconds")
    def _check_seconds(self, proposal: Any) -> float:
        if proposal.value < 0:
            raise TraitError(f"MemoryWatch.{proposal.trait.name} must be 0 or more seconds.")
        return float(proposal.value)

    @validate("memory_limit")
    def _check_limit(self, proposal: Any) -> int:
        if proposal.value < 0:
            raise TraitError("MemoryWatch.memory_limit must be 0 (none) or more bytes.")
        return int(proposal.value)

    @validate("memory_warning_fraction")
    def _check_fraction(self, proposal: Any) -> float:
        if not 0 < proposal.value <= 1:
            raise TraitError("MemoryWatch.memory_warning_fraction must be more than 0, at most 1.")
        return float(proposal.value)

    def __init__(
        self,
        kernels: Callable[[], Iterable[TrackedKernel]],
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._kernels = kernels
        self._chain = cgroup.server_cgroups()
        self._env_limit = self._parse_env(environ if environ is not None else os.environ)
        self.reading: MemoryReading | None = None
        self.warning = False
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._oom_seen: int | None = None
        self._unclaimed: deque[float] = deque()
        self.oom_kills_claimed = 0  # kernel processes found OOM-killed (metrics)

    def _parse_env(self, environ: Mapping[str, str]) -> int | None:
        raw = environ.get("MEM_LIMIT")
        if not raw:
            return None
        try:
            value = int(float(raw))
        except ValueError:
            value = 0
        if value <= 0:
            self.log.warning("Active sessions: MEM_LIMIT=%r is not a number of bytes; ignored", raw)
            return None
        return value

    def listen(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call `listener` with each warning (the event)."""
        self._listeners.append(listener)

    # -- reading (in a worker thread) ---------------------------------------------------

    def read(self) -> MemoryReading:
        """The limit and what is used now. Reads files and /proc: off the loop."""
        nearest = self._chain[0] if self._chain else None
        oom = nearest.oom_kills() if nearest is not None else None
        if oom is None:
            oom = _host_oom_kills()
        bound = cgroup.binding(self._chain)
        if bound is not None:
            return MemoryReading(bound[1], bound[0].usage_bytes(), CGROUP, oom)
        for limit, source in ((self._env_limit, ENV), (self.memory_limit or None, CONFIG)):
            if limit:
                server = processes.families([os.getpid()])[os.getpid()]
                return MemoryReading(limit, processes.rss(server), source, oom)
        host = psutil.virtual_memory()
        return MemoryReading(host.total, host.total - host.available, HOST, oom)

    # -- on the event loop ---------------------------------------------------------------

    def update(self, reading: MemoryReading) -> None:
        """A new reading: count OOM kills, and warn when use crosses the fraction."""
        self.reading = reading
        self._observe_oom(reading.oom_kills)
        limit, used = reading.limit_bytes, reading.used_bytes
        if limit is None or used is None:
            return
        over = used >= self.memory_warning_fraction * limit
        if over and not self.warning:
            self._warn(reading)
        self.warning = over

    def _warn(self, reading: MemoryReading) -> None:
        largest = sorted(
            (t for t in self._kernels() if t.resource_usage is not None),
            key=lambda t: t.resource_usage.memory_bytes,  # type: ignore[union-attr]
            reverse=True,
        )[:LARGEST]
        data = {
            "action": "memory_warning",
            "changes": ["memory_warning"],
            "used_bytes": reading.used_bytes,
            "limit_bytes": reading.limit_bytes,
            "source": reading.source,
            "kernels": [
                {
                    "session_id": t.kernel_id,
                    "memory_bytes": t.resource_usage.memory_bytes,  # type: ignore[union-attr]
                    "status": t.state.status,
                    "notebook_path": t.notebook_path,
                }
                for t in largest
            ],
        }
        self.log.warning(
            "Active sessions: memory used %s of %s bytes (%s), past %.0f%%",
            reading.used_bytes,
            reading.limit_bytes,
            reading.source,
            self.memory_warning_fraction * 100,
        )
        for listener in self._listeners:
            try:
                listener(data)
            except Exception:
                self.log.exception("Active sessions: could not report a memory warning")

    def _observe_oom(self, count: int | None) -> None:
        now = time.monotonic()
        if count is not None:
            if self._oom_seen is not None and count > self._oom_seen:
                self._unclaimed.extend([now] * min(count - self._oom_seen, 1000))
            self._oom_seen = count
        while self._unclaimed and self._unclaimed[0] < now - CLAIM_WINDOW:
            self._unclaimed.popleft()

    def start(self) -> None:
        """Take the OOM kill counter as it is: kills before now are not ours."""
        self._observe_oom(self._oom_count())

    def _oom_count(self) -> int | None:
        count = self._chain[0].oom_kills() if self._chain else None
        return count if count is not None else _host_oom_kills()

    # -- what a kernel's end asks (state.record.MemoryLimits) -------------------------

    def limit_bytes(self) -> int | None:
        return self.reading.limit_bytes if self.reading is not None else None

    def claim_oom_kill(self) -> bool:
        """A kernel process died of SIGKILL: True if an OOM kill nobody has
        claimed happened in the last minute (the counter is read afresh: one
        small file)."""
        self._observe_oom(self._oom_count())
        if not self._unclaimed:
            return False
        self._unclaimed.popleft()
        self.oom_kills_claimed += 1
        return True

    def kernels_bytes(self) -> int:
        return sum(
            t.resource_usage.memory_bytes
            for t in self._kernels()
            if t.resource_usage is not None and t.state.status != EXITED
        )
