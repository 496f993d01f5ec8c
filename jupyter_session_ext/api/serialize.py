"""Where state becomes JSON, and nowhere else: the ActiveSession model, its
queue entries and history, the kernels that ended, the server-wide status,
and what events carry. Functions of the state, keeping nothing (each
kernel's JSON as of its last visible change is kept by `encoder.py`).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from jupyter_server.utils import ApiPath, to_os_path

from ..lifecycle.culling import CullingInfo
from ..memory.limits import MemoryWatch
from ..state.changes import Changes
from ..state.ended import EndedKernel
from ..state.history import FinishedExecution
from ..state.kernel_state import EXITED
from ..state.last_words import HIDDEN, CellLine, LastWords
from ..state.process_end import LastExit
from ..state.queue import ExecutionQueue, QueueEntry
from ..state.record import JUPYTER_SESSION_FIELDS, ResourceUsage, TrackedKernel
from ..state.timeline import ResourceTimeline
from ..state.timestamps import isoformat


class SessionSource(Protocol):
    """What the encoder asks of the registry, besides a kernel's record."""

    def connections(self, kernel_id: str) -> int: ...
    def prompts_for(self, tracked: TrackedKernel) -> tuple[str, str]: ...
    def culling_info(self, tracked: TrackedKernel) -> CullingInfo | None: ...


def notebook_uri(path: str | None, root_dir: str) -> str | None:
    if path is None:
        return None
    try:
        return Path(to_os_path(ApiPath(path), root_dir)).resolve().as_uri()
    except (ValueError, OSError):
        return None


# -- the parts -----------------------------------------------------------------------


def queue_entry(entry: QueueEntry, reveal: bool = True) -> dict[str, Any]:
    return {
        "msg_id": entry.msg_id,
        "code": entry.code if reveal else None,
        "code_truncated": entry.code_truncated,
        "cell_id": entry.cell_id,
        "client_session_id": entry.client_session_id,
        "username": entry.username,
        "submitted": isoformat(entry.submitted),
        "started": isoformat(entry.started),
        "execution_count": entry.execution_count,
        "expected_seconds": entry.expected_seconds,
    }


def execution_queue(queue: ExecutionQueue, reveal: bool = True) -> dict[str, Any]:
    return {
        "active": queue_entry(queue.active, reveal) if queue.active else None,
        "pending": [queue_entry(e, reveal) for e in queue.pending],
        "length": len(queue),
    }


def finished_execution(finished: FinishedExecution, reveal: bool = True) -> dict[str, Any]:
    return {
        **queue_entry(finished.entry, reveal),
        "ended": isoformat(finished.ended),
        "duration_seconds": finished.duration_seconds,
        "status": finished.status,
        "error_name": finished.error_name,
        **execution_memory(finished),
    }


def execution_memory(finished: FinishedExecution) -> dict[str, int | None]:
    return {
        "memory_start_bytes": finished.entry.memory_start_bytes,
        "memory_end_bytes": finished.memory_end_bytes,
        "memory_peak_bytes": finished.entry.memory_peak_bytes,
    }


def last_exit(exit: LastExit | None, reveal: bool = True) -> dict[str, Any] | None:
    if exit is None:
        return None
    return {
        "ended": isoformat(exit.ended),
        "reason": exit.reason,
        "exit_code": exit.exit_code,
        "signal": exit.signal,
        "memory_bytes": exit.memory_bytes,
        "limit_bytes": exit.limit_bytes,
        "last_words": last_words(exit.last_words, reveal),
    }


def last_words(words: LastWords | None, reveal: bool = True) -> dict[str, Any] | None:
    """What a process wrote last: its text only for who may see what kernels
    run (it may hold their data), as code is; where it faulted for all, but
    the line of code."""
    if words is None:
        return None
    hidden = not reveal and words.text is not None
    fault = words.fault
    return {
        "text": None if hidden else words.text,
        "why_null": HIDDEN if hidden else words.why_null,
        "truncated": words.truncated,
        "summary": fault.summary(reveal) if fault is not None else None,
        "fault": None
        if fault is None
        else {
            "signal": fault.signal,
            "message": fault.message,
            **cell_line(fault.cell, reveal),
            "inner": cell_line(fault.inner, reveal) if fault.inner is not None else None,
        },
    }


def cell_line(cell: CellLine | None, reveal: bool = True) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id if cell else None,
        "execution_count": cell.execution_count if cell else None,
        "line": cell.line if cell else None,
        "code_line": cell.code_line if cell and reveal else None,
    }


def resource_usage(usage: ResourceUsage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "cpu_percent": usage.cpu_percent,
        "memory_bytes": usage.memory_bytes,
        "thread_count": usage.thread_count,
        "sampling_period_ms": usage.sampling_period_ms,
        "timestamp": isoformat(usage.timestamp),
    }


def culling(info: CullingInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {**info._asdict(), "cull_after": isoformat(info.cull_after)}


def jupyter_sessions(bound: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: s.get(k) for k in JUPYTER_SESSION_FIELDS} for s in bound]


# -- a kernel, as an ActiveSession -------------------------------------------------------


def active_session(
    source: SessionSource,
    tracked: TrackedKernel,
    root_dir: str,
    *,
    volatile: Any = None,
    reveal: bool = True,
) -> dict[str, Any]:
    """One ActiveSession. With `volatile`, the fields that change without a
    visible change (timers, last_activity, resource_usage, culling) hold that
    marker."""
    state = tracked.state
    process = tracked.process
    assert process is not None  # every record has one from the moment it is added
    connections = source.connections(tracked.kernel_id)
    input_prompt, continuation_prompt = source.prompts_for(tracked)
    path = tracked.notebook_path
    marked = volatile is not None
    return {
        # The seed's 21 fields, in its order.
        "session_id": tracked.kernel_id,
        "argv": process.argv if reveal else None,
        "process_id": process.pid if state.status != EXITED else None,
        "username": process.username,
        "display_name": tracked.display_name,
        "language": tracked.language,
        "interrupt_mode": tracked.interrupt_mode,
        "initial_env": process.initial_env if reveal else None,
        "connected": connections > 0,
        "started": isoformat(process.started),
        "session_mode": tracked.session_mode,
        "working_directory": tracked.working_directory,
        "notebook_uri": notebook_uri(path, root_dir),
        "input_prompt": input_prompt,
        "continuation_prompt": continuation_prompt,
        "execution_queue": execution_queue(state.queue, reveal),
        "status": state.status,
        "kernel_info": state.kernel_info,
        "idle_seconds": volatile if marked else state.idle_seconds(),
        "busy_seconds": volatile if marked else state.busy_seconds(),
        "socket_path": process.socket_path,
        # Beyond the seed.
        "kernel_name": tracked.kernel_name,
        "jupyter_sessions": jupyter_sessions(tracked.bound),
        "notebook_path": path,
        "connections": connections,
        "execution_count": state.execution_count,
        "last_activity": volatile if marked else isoformat(tracked.last_activity()),
        "restart_count": tracked.restart_count,
        "awaiting_input": state.awaiting_input,
        "resource_usage": volatile if marked else resource_usage(tracked.resource_usage),
        # Lifecycle.
        "culling": volatile if marked else culling(source.culling_info(tracked)),
        "idle_timeout": tracked.idle_timeout,
        "last_exit": last_exit(tracked.last_exit, reveal),
    }


# -- the other routes -----------------------------------------------------------------------


def memory(watch: MemoryWatch) -> dict[str, Any]:
    reading = watch.reading
    return {
        "limit_bytes": reading.limit_bytes if reading else None,
        "used_bytes": reading.used_bytes if reading else None,
        "kernels_bytes": watch.kernels_bytes(),
        "source": reading.source if reading else None,
        "warning": watch.warning,
        "warning_fraction": watch.memory_warning_fraction,
    }


def timeline(timeline: ResourceTimeline, points: int | None = None) -> dict[str, Any]:
    return {
        "interval_seconds": timeline.interval,
        "samples": [
            {"t": isoformat(s.at), "memory_bytes": s.memory_bytes, "cpu_percent": s.cpu_percent}
            for s in timeline.samples(points)
        ],
    }


def server_status(
    changes: Changes,
    kernels: list[TrackedKernel],
    watch: MemoryWatch,
    *,
    version: str,
    started: datetime,
) -> dict[str, Any]:
    """Reference semantics: `active` counts sessions not exited; `idle_seconds`
    is how long every session has been idle, `busy_seconds` how long at least
    one has been busy."""
    uptime = int((datetime.now(timezone.utc) - started).total_seconds())
    return {
        "sessions": len(kernels),
        "active": sum(1 for t in kernels if t.state.status != EXITED),
        "busy": changes.server_busy,
        "idle_seconds": changes.server_idle_seconds(),
        "busy_seconds": changes.server_busy_seconds(),
        "uptime_seconds": max(0, uptime),
        "version": version,
        "process_id": os.getpid(),
        "started": isoformat(started),
        "memory": memory(watch),
    }


def history(
    total: int, executions: list[FinishedExecution], reveal: bool = True, complete: bool = True
) -> dict[str, Any]:
    """`complete`: False while the store is not read yet (what earlier runs
    of the server left may still come)."""
    return {
        "total": total,
        "executions": [finished_execution(f, reveal) for f in executions],
        "complete": complete,
    }


def ended_kernel(
    record: EndedKernel, notebook_uri: str | None = None, reveal: bool = True
) -> dict[str, Any]:
    return {
        "session_id": record.session_id,
        "display_name": record.display_name,
        "kernel_name": record.kernel_name,
        "notebook_path": record.notebook_path,
        "notebook_uri": notebook_uri,
        "session_mode": record.session_mode,
        "username": record.username,
        "started": isoformat(record.started),
        "ended": isoformat(record.ended),
        "reason": record.reason,
        "forced": record.forced,
        "by": record.by,
        "exit_code": record.exit_code,
        "signal": record.signal,
        "idle_seconds": record.idle_seconds,
        "memory_bytes": record.memory_bytes,
        "limit_bytes": record.limit_bytes,
        "last_words": last_words(record.last_words, reveal),
        "last_execution": (
            finished_execution(record.last_execution, reveal)
            if record.last_execution is not None
            else None
        ),
    }


def ended(
    records: list[EndedKernel], root_dir: str, reveal: bool = True, complete: bool = True
) -> dict[str, Any]:
    """`complete`: as for `history`."""
    return {
        "total": len(records),
        "sessions": [
            ended_kernel(r, notebook_uri(r.notebook_path, root_dir), reveal) for r in records
        ],
        "complete": complete,
    }


# -- what events carry (event_schemas/active_session_v1.yaml) -----------------------------------


def event_payload(tracked: TrackedKernel, connections: int) -> dict[str, Any]:
    """The state a change event carries."""
    state = tracked.state
    active = state.queue.active
    return {
        "session_id": tracked.kernel_id,
        "status": state.status,
        "busy_seconds": state.busy_seconds(),
        "idle_seconds": state.idle_seconds(),
        "queue_length": len(state.queue),
        "active_msg_id": active.msg_id if active else None,
        "active_cell_id": active.cell_id if active else None,
        "execution_count": state.execution_count,
        "connections": connections,
        "working_directory": tracked.working_directory,
        "awaiting_input": state.awaiting_input,
        "process_id": tracked.pid if state.status != EXITED else None,
        "restart_count": tracked.restart_count,
    }


def finished_event(tracked: TrackedKernel, finished: FinishedExecution) -> dict[str, Any]:
    """An `execution_finished` event."""
    entry = finished.entry
    return {
        "action": "execution_finished",
        "changes": ["execution_finished"],
        "session_id": tracked.kernel_id,
        "status": finished.status,
        "msg_id": entry.msg_id,
        "cell_id": entry.cell_id,
        "notebook_path": tracked.notebook_path,
        "execution_count": entry.execution_count,
        "duration_seconds": finished.duration_seconds,
        "error_name": finished.error_name,
        **execution_memory(finished),
    }


def ended_event(record: EndedKernel) -> dict[str, Any]:
    """An `ended` event: why the kernel went (without what it last ran, nor
    the text it wrote last: events reach who may not see code)."""
    data = ended_kernel(record, reveal=False)
    data.pop("notebook_uri")
    data.pop("last_execution")
    return {"action": "ended", "changes": ["ended"], "status": EXITED, **data}
