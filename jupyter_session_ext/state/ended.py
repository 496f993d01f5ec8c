"""A kernel that is gone, and why: what `lifecycle/ended.py` keeps for
`GET api/active-sessions/ended` and the `ended` event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from .history import FinishedExecution
from .kernel_state import BUSY
from .record import EXITED_ON_ITS_OWN, KILLED, TrackedKernel
from .timestamps import utcnow

# An ended kernel's reason, besides the process's own `exited` / `killed`.
SHUTDOWN = "shutdown"  # a client asked (or our kill route: `forced`)
CULLED = "culled"  # idle culling
SERVER_STOPPED = "server_stopped"  # the server stopped with it
REASONS = (SHUTDOWN, CULLED, EXITED_ON_ITS_OWN, KILLED, SERVER_STOPPED)


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


def idle_seconds(tracked: TrackedKernel) -> int:
    """How long the kernel had been idle when it went (0 if it was running)."""
    if tracked.state.status == BUSY:
        return 0
    return max(0, int((utcnow() - tracked.last_activity()).total_seconds()))
