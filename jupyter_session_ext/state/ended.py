"""A kernel that is gone, and why: what `lifecycle/ended.py` keeps for
`GET api/active-sessions/ended` and the `ended` event."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from .history import FinishedExecution
from .kernel_state import BUSY
from .last_words import LastWords
from .process_end import EXITED_ON_ITS_OWN, FAILED_TO_START, KILLED, OOM
from .record import TrackedKernel
from .timestamps import utcnow

# An ended kernel's reason, besides the process's own `exited` / `killed`.
SHUTDOWN = "shutdown"  # a client asked (or our kill route: `forced`)
CULLED = "culled"  # idle culling
SERVER_STOPPED = "server_stopped"  # the server stopped with it
SERVER_LOST = "server_lost"  # the server died without stopping (seen at the next start)
REASONS = (
    SHUTDOWN,
    CULLED,
    EXITED_ON_ITS_OWN,
    KILLED,
    OOM,
    FAILED_TO_START,
    SERVER_STOPPED,
    SERVER_LOST,
)


class Note(NamedTuple):
    """Why a kernel is about to go, left by whoever asked."""

    reason: str
    by: str | None = None
    forced: bool = False
    at: datetime | None = None


@dataclass
class EndedKernel:
    session_id: str
    display_name: str
    kernel_name: str
    notebook_path: str | None
    session_mode: str
    username: str
    started: datetime
    ended: datetime
    reason: str
    forced: bool
    by: str | None
    exit_code: int | None
    signal: int | None
    idle_seconds: int
    last_execution: FinishedExecution | None
    recorded: float  # monotonic, for the retention
    # Its last finished executions (newest first) and how many it finished:
    # `GET {id}/history` answers from them while the record is kept.
    executions: tuple[FinishedExecution, ...] = ()
    total: int = 0
    # Its memory at the last sample, and the limit it lived under (an OOM
    # kill says "1.9 of 2 GB").
    memory_bytes: int | None = None
    limit_bytes: int | None = None
    # What its last process wrote last (None: it had not ended when recorded,
    # or a record from before there were any).
    last_words: LastWords | None = None


def ended_record(
    tracked: TrackedKernel,
    reason: str,
    *,
    by: str | None = None,
    forced: bool = False,
    exit_code: int | None = None,
    signal: int | None = None,
    ended: datetime | None = None,
    last_words: LastWords | None = None,
) -> EndedKernel | None:
    """The record of `tracked` ending now for `reason`; None for a kernel
    never seen running."""
    if tracked.process is None:
        return None
    history = tracked.state.history
    return EndedKernel(
        session_id=tracked.kernel_id,
        display_name=tracked.display_name,
        kernel_name=tracked.kernel_name,
        notebook_path=tracked.notebook_path,
        session_mode=tracked.session_mode,
        username=tracked.process.username,
        started=tracked.process.started,
        ended=ended or utcnow(),
        reason=reason,
        forced=forced,
        by=by,
        exit_code=exit_code,
        signal=signal,
        idle_seconds=idle_seconds(tracked),
        last_execution=history.latest,
        recorded=time.monotonic(),
        executions=tuple(history.executions()),
        total=history.total,
        memory_bytes=tracked.last_memory_bytes,
        limit_bytes=tracked.limit_bytes(),
        last_words=last_words,
    )


def idle_seconds(tracked: TrackedKernel) -> int:
    """How long the kernel had been idle when it went (0 if it was running)."""
    if tracked.state.status == BUSY:
        return 0
    return max(0, int((utcnow() - tracked.last_activity()).total_seconds()))
