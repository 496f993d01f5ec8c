"""Each kernel's CPU, memory and threads (the process and its children),
sampled in the background off the event loop, and what each execution cost.

The figures go to `TrackedKernel.resource_usage` (replaced whole at each
sample: api/serialize.py relies on that, it never mutates) and to the
kernel's timeline. Every `interval()` seconds all local kernels are sampled;
in between, every `MemoryWatch.busy_sampling_interval` seconds, those running a cell, so an
execution's peak is seen. An execution's start and end are read at the
moment they happen (a few reads of /proc), so the difference is what the
cell did, not what the last sample missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Reversible
from datetime import datetime, timezone
from typing import Any

from ..memory import processes
from ..memory.limits import MemoryReading, MemoryWatch
from ..state.kernel_state import BUSY, EXITED
from ..state.record import ResourceUsage, TrackedKernel
from ..state.timeline import Sample


def start_mark(marks: Reversible[tuple[datetime, int]], began: datetime) -> int | None:
    """An execution's memory at its start: the last reading taken before the
    kernel began it; else the oldest kept, which is the end of the cell
    before. jupyter_server reads a kernel's IOPub on a socket of its own,
    apart from the browser's: the browser can have the end of a cell, and
    the kernel begin the next, before the server reads that end. Then the
    cells ran back to back, and one's end is the other's start (a reading
    from before that end would count the cell before twice)."""
    oldest = None
    for at, memory in reversed(marks):  # (a deque: no copy made)
        if at <= began:
            return memory
        oldest = memory
    return oldest


class ResourceMonitor:
    """Samples every local kernel while running. The intervals are read
    before each round, so a change at run time applies; 0 stops sampling."""

    def __init__(
        self,
        kernels: Callable[[], Iterable[TrackedKernel]],
        interval: Callable[[], float],
        watch: MemoryWatch,
        log: logging.Logger,
    ) -> None:
        self._kernels = kernels
        self._interval = interval
        self._watch = watch
        self._log = log
        self._sampler = processes.ResourceSampler()
        self._resident = processes.ResidentMemory()  # read on the loop only
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # Whether the loop already samples at the busy cadence, and when its
        # last round began: a kernel turning busy wakes it at most once per
        # busy interval (a pipelined notebook turns busy a thousand times).
        self._fast = False
        self._round_at = 0.0
        # Read per kernel message (`changed`): plain attributes, not traits.
        # Each round of the sampler reads them again, so a change at run
        # time applies from the next round.
        self._off = interval() <= 0
        self._busy_interval = watch.busy_sampling_interval

    def start(self) -> None:
        if self._task is None and self._interval() > 0:
            self._watch.start()
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self._resident.keep(())

    def _local(self) -> list[TrackedKernel]:
        return [
            t
            for t in self._kernels()
            if not t.remote and t.pid is not None and t.state.status != EXITED
        ]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_full = 0.0
        while True:
            interval = self._interval()
            self._off = interval <= 0
            if self._off:
                return
            self._round_at = time.monotonic()
            full = self._round_at >= next_full
            if full:
                next_full = time.monotonic() + interval
            local = self._local()
            watched = {t: t.pid for t in local if full or t.state.status == BUSY}
            try:
                samples, reading = await loop.run_in_executor(
                    None, self._sample, [p for p in watched.values() if p is not None], full
                )
            except Exception:
                self._log.exception("Active sessions: resource sampling failed")
                samples, reading = {}, None
            self._apply(watched, samples, interval)
            if full:  # the families of every kernel: let go of the other files
                self._resident.keep(p for t in local if t.pid for p in self._sampler.family(t.pid))
            if reading is not None:
                self._watch.update(reading)
            busy = self._busy_interval = self._watch.busy_sampling_interval
            wait = next_full - time.monotonic()
            self._fast = busy > 0 and any(t.state.status == BUSY for t in self._local())
            if self._fast:
                wait = min(wait, busy)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, wait))
            except asyncio.TimeoutError:
                pass

    def _sample(
        self, pids: list[int], full: bool
    ) -> tuple[dict[int, dict[str, Any]], MemoryReading | None]:
        """In a worker thread: the kernels' figures and the memory limit's."""
        samples = self._sampler.sample(pids, forget=full) if pids else {}
        return samples, self._watch.read()

    def _apply(
        self, watched: dict[TrackedKernel, int | None], samples: dict[int, Any], interval: float
    ) -> None:
        stamp = datetime.now(timezone.utc)
        seconds = self._watch.timeline_seconds
        for tracked, pid in watched.items():
            if tracked.pid != pid:
                continue  # restarted meanwhile: this sample is of the old process
            usage = samples.get(pid) if pid is not None else None
            if usage is None:
                tracked.resource_usage = None
                continue
            memory = usage["memory_bytes"]
            if memory <= 0:
                continue  # a process that died and is not reaped yet (a zombie owns no memory)
            tracked.resource_usage = ResourceUsage(
                usage["cpu_percent"], memory, usage["thread_count"], int(interval * 1000), stamp
            )
            tracked.last_memory_bytes = memory
            tracked.timeline.configure(seconds, interval)
            tracked.timeline.add(Sample(stamp, memory, usage["cpu_percent"]))
            active = tracked.state.queue.active
            if active is not None and active.memory_start_bytes is not None:
                active.memory_peak_bytes = max(active.memory_peak_bytes or 0, memory)

    # -- what each execution cost (a changes.Changes listener) ---------------------------

    def _read(self, tracked: TrackedKernel, now: datetime | None = None) -> int | None:
        """The kernel's memory now (a read of /proc per process of its
        family), kept as a mark of that time (`now`: the time the server
        read the message that asked for it)."""
        pid = tracked.pid
        if pid is None:
            return None
        memory = self._resident.rss(self._sampler.family(pid))
        if memory is not None:
            tracked.memory_marks.append((now or datetime.now(timezone.utc), memory))
        return memory

    def changed(self, tracked: TrackedKernel, actions: tuple[str, ...]) -> None:
        """Registered before the listeners that report an execution (events,
        the store), so they see its memory figures. The server reads a
        kernel's messages a little after the kernel sent them: by the time
        its busy is read, a cell may have allocated already. So a cell's
        start is the last reading taken before the kernel began it: when the
        request was sent to an idle kernel, the end of the one before, or
        the last sample."""
        if self._off or tracked.remote:
            return
        queue = tracked.state.queue
        if "execution_finished" in actions:
            finished = tracked.state.history.latest
            if finished is not None and finished.memory_end_bytes is None:
                end = self._read(tracked, finished.ended)
                if end is not None:
                    # Nothing read before a cell's end can be the next one's
                    # start: see start_mark.
                    marks = tracked.memory_marks
                    while len(marks) > 1:
                        marks.popleft()
                entry = finished.entry
                finished.memory_end_bytes = end
                start, peak = entry.memory_start_bytes, entry.memory_peak_bytes
                entry.memory_peak_bytes = max(start or 0, peak or 0, end or 0) or None
        if "status" not in actions and "queue" not in actions:
            return
        active = queue.active
        if active is None:
            if "queue" in actions and len(queue) == 1:
                # The first request on its way to an idle kernel (behind a
                # finished one, the end read of that one is the mark).
                self._read(tracked)
        elif active.started is not None and active.memory_start_bytes is None:
            began = active.kernel_started or active.started
            start = start_mark(tracked.memory_marks, began)
            active.memory_start_bytes = start if start is not None else self._read(tracked)
            active.memory_peak_bytes = active.memory_start_bytes
            busy = self._busy_interval
            if (
                not self._fast
                and busy > 0
                and tracked.state.status == BUSY
                and time.monotonic() - self._round_at >= busy
            ):
                self._wake.set()  # into the busy kernels' faster cadence
