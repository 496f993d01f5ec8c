"""What the agent tools answer as structured content: the projections of a
kernel's state that an agent asks for (a kernel in brief, the cell it runs
against its last run, what finished), beside the parts `serialize.py`
makes for the REST API, which the tools answer as they are. With
`serialize.py`, the only place state becomes JSON; the schemas are the
`Agent*` ones of `openapi.yaml`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..memory.limits import MemoryWatch
from ..state.history import FinishedExecution
from ..state.kernel_state import EXITED
from ..state.queue import QueueEntry
from ..state.record import TrackedKernel
from ..state.timestamps import utcnow
from . import serialize

FIRST_LINE_MAX = 120  # characters: a line of a listing
# How lines that do not say what a cell does begin.
_PREAMBLE = ("#", "import ", "from ", "%%")


def first_line(code: str | None) -> str | None:
    """The first line of `code` that says what it does: not blank, a
    comment, an import or a cell magic's header (else the first that is not
    blank), cut to a listing's width."""
    if code is None:
        return None
    lines = [line.strip() for line in code.splitlines()]
    meaningful = [line for line in lines if line and not line.startswith(_PREAMBLE)]
    chosen = (meaningful or [line for line in lines if line] or [""])[0]
    return chosen if len(chosen) <= FIRST_LINE_MAX else chosen[: FIRST_LINE_MAX - 1] + "…"


def running(
    entry: QueueEntry | None, reveal: bool, now: datetime | None = None
) -> dict[str, Any] | None:
    """The cell the kernel runs, and how long it has left by its last run."""
    if entry is None:
        return None
    ran: float | None = None
    if entry.started is not None:
        ran = max(0.0, ((now or utcnow()) - entry.started).total_seconds())
    expected = entry.expected_seconds
    left = max(0.0, expected - ran) if expected is not None and ran is not None else None
    return {
        "cell_id": entry.cell_id,
        "execution_count": entry.execution_count,
        "first_line": first_line(entry.code) if reveal else None,
        "running_seconds": None if ran is None else round(ran, 3),
        "expected_seconds": expected,
        "expected_remaining_seconds": None if left is None else round(left, 3),
    }


def kernel(tracked: TrackedKernel, reveal: bool, limit_bytes: int | None) -> dict[str, Any]:
    """One kernel in brief: an `AgentKernel`."""
    state = tracked.state
    usage = tracked.resource_usage
    alive = state.status != EXITED
    return {
        "kernel": tracked.kernel_id,
        "notebook": tracked.notebook_path,
        "kernel_name": tracked.kernel_name,
        "display_name": tracked.display_name,
        "status": state.status,
        "busy_seconds": state.busy_seconds(),
        "idle_seconds": state.idle_seconds(),
        "running": running(state.queue.active, reveal),
        "queued": len(state.queue),
        "awaiting_input": state.awaiting_input is not None,
        "memory_bytes": usage.memory_bytes if usage is not None and alive else None,
        "limit_bytes": limit_bytes,
    }


def kernel_list(kernels: list[TrackedKernel], watch: MemoryWatch, reveal: bool) -> dict[str, Any]:
    limit = watch.limit_bytes()
    return {
        "kernels": [kernel(t, reveal, limit) for t in kernels],
        "memory": serialize.memory(watch),
    }


def finished(execution: FinishedExecution, reveal: bool) -> dict[str, Any]:
    """What finished while an agent waited: an `AgentFinished`."""
    entry = execution.entry
    return {
        "cell_id": entry.cell_id,
        "execution_count": entry.execution_count,
        "status": execution.status,
        "duration_seconds": execution.duration_seconds,
        "error_name": execution.error_name,
        "first_line": first_line(entry.code) if reveal else None,
    }


def waited(
    tracked: TrackedKernel,
    outcome: str,
    seconds: float,
    executions: list[FinishedExecution],
    total: int,
    reveal: bool,
) -> dict[str, Any]:
    """An `AgentWait`: `executions` oldest first, `total` all that finished."""
    state = tracked.state
    return {
        "kernel": tracked.kernel_id,
        "outcome": outcome,
        "status": state.status,
        "waited_seconds": round(max(0.0, seconds), 3),
        "running": running(state.queue.active, reveal),
        "queued": len(state.queue),
        "finished": [finished(f, reveal) for f in executions],
        "finished_total": total,
    }


def kernel_status(
    source: serialize.SessionSource, tracked: TrackedKernel, root_dir: str, reveal: bool
) -> dict[str, Any]:
    """An `AgentKernelStatus`: the whole ActiveSession, and the running cell."""
    return {
        "kernel": tracked.kernel_id,
        "session": serialize.active_session(source, tracked, root_dir, reveal=reveal),
        "running": running(tracked.state.queue.active, reveal),
    }


def interrupted(tracked: TrackedKernel, reveal: bool) -> dict[str, Any]:
    return {
        "kernel": tracked.kernel_id,
        "interrupted": True,
        "status": tracked.state.status,
        "running": running(tracked.state.queue.active, reveal),
    }


def headroom(
    kernels: list[TrackedKernel], watch: MemoryWatch, reveal: bool, largest: int = 5
) -> dict[str, Any]:
    """An `AgentMemory`: the memory against its limit, the largest kernels first."""
    memory = serialize.memory(watch)
    limit, used = memory["limit_bytes"], memory["used_bytes"]
    known = limit is not None and used is not None and limit > 0
    briefs = [kernel(t, reveal, limit) for t in kernels if t.state.status != EXITED]
    briefs.sort(key=lambda k: k["memory_bytes"] or 0, reverse=True)
    return {
        "memory": memory,
        "headroom_bytes": max(0, limit - used) if known else None,
        "used_fraction": round(used / limit, 4) if known else None,
        "largest": briefs[:largest],
    }
