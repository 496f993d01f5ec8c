"""Each kernel's CPU, memory and threads (the process and its children),
sampled in the background off the event loop.

The figures go to `TrackedKernel.resource_usage`, replaced whole at each sample
(api/serialize.py relies on that: it never mutates).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import psutil

from ..state.kernel_state import EXITED
from ..state.record import ResourceUsage, TrackedKernel


class ResourceSampler:
    """CPU, memory and threads of kernel processes and their children.

    Keeps the psutil.Process objects between samples: cpu_percent is measured
    over the time since the previous sample of the same process. Called from a
    worker thread, one sample at a time; never on the event loop.
    """

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def _process(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None or not proc.is_running():  # is_running also catches pid reuse
            proc = psutil.Process(pid)
            proc.cpu_percent(None)  # the first call only sets the baseline
            self._procs[pid] = proc
        return proc

    @staticmethod
    def _children() -> dict[int, list[int]]:
        """Child pids per parent pid. One scan of the process table per sample:
        psutil's Process.children() scans it once per call, i.e. per kernel."""
        children: dict[int, list[int]] = {}
        for proc in psutil.process_iter(["ppid"]):
            ppid = proc.info["ppid"]
            if ppid is not None:
                children.setdefault(ppid, []).append(proc.pid)
        return children

    def sample(self, pids: list[int]) -> dict[int, dict[str, Any]]:
        seen: set[int] = set()
        result: dict[int, dict[str, Any]] = {}
        children = self._children()
        for pid in pids:
            try:
                self._process(pid)
            except (psutil.Error, OSError):
                continue  # the kernel itself is gone or unreadable: no figures
            family: dict[int, None] = {}  # the kernel and all its descendants
            stack = [pid]
            while stack:
                member = stack.pop()
                if member not in family:
                    family[member] = None
                    stack.extend(children.get(member, ()))
            cpu = 0.0
            memory = threads = 0
            for member in family:
                try:
                    proc = self._process(member)
                    with proc.oneshot():
                        cpu += proc.cpu_percent(None)
                        memory += proc.memory_info().rss
                        threads += proc.num_threads()
                    seen.add(member)
                except (psutil.Error, OSError):
                    continue  # a child that ended meanwhile
            result[pid] = {
                "cpu_percent": round(cpu, 1),
                "memory_bytes": memory,
                "thread_count": threads,
            }
        # Forget processes that are no longer part of any kernel.
        for pid in list(self._procs):
            if pid not in seen:
                del self._procs[pid]
        return result


class ResourceMonitor:
    """Samples every local kernel each `interval()` seconds while running.
    `interval` is read before each round, so a change at run time applies;
    0 stops sampling."""

    def __init__(
        self,
        kernels: Callable[[], Iterable[TrackedKernel]],
        interval: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self._kernels = kernels
        self._interval = interval
        self._log = log
        self._sampler = ResourceSampler()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._interval() > 0:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            interval = self._interval()
            if interval <= 0:
                return
            watched = {
                t: t.pid for t in self._kernels() if t.pid is not None and t.state.status != EXITED
            }
            try:
                samples = await loop.run_in_executor(
                    None, self._sampler.sample, list(watched.values())
                )
            except Exception:
                self._log.exception("Active sessions: resource sampling failed")
                samples = {}
            stamp = datetime.now(timezone.utc)
            for tracked, pid in watched.items():
                if tracked.pid != pid:
                    continue  # restarted meanwhile: this sample is of the old process
                usage = samples.get(pid)
                tracked.resource_usage = (
                    None
                    if usage is None
                    else ResourceUsage(
                        usage["cpu_percent"],
                        usage["memory_bytes"],
                        usage["thread_count"],
                        int(interval * 1000),
                        stamp,
                    )
                )
            await asyncio.sleep(interval)
