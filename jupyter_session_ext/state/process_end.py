"""How a kernel's process ended: the reasons, and what is kept of the end
(`last_exit` of a kernel that was restarted, an ended kernel's reason)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from .last_words import LastWords
from .queue import QueueEntry

# Why a process ended (last_exit.reason, and an ended kernel's reason).
RESTARTED = "restarted"  # the server restarted it (a client asked)
EXITED_ON_ITS_OWN = "exited"  # it exited with a code, and nobody asked
KILLED = "killed"  # a signal the server did not send (kill -9, a crash)
OOM = "oom"  # SIGKILL from the out-of-memory killer (memory/limits.py tells)
# It ended before it ever answered kernel_info, or was ended after it was
# found silent (offline) without ever having answered.
FAILED_TO_START = "failed_to_start"
SIGKILL = 9

# (exit code, signal) once a process ended; None while it runs or unknown.
ExitStatus = tuple[int | None, int | None] | None
# What a process wrote last (lifecycle/kernel_output.py), asked once it
# ended: (exit code, signal, the execution running then, the executions
# whose cells a fault's frames may name, newest first).
WordsSource = Callable[[int | None, int | None, QueueEntry | None, Iterable[QueueEntry]], LastWords]


class ProcessEnd(NamedTuple):
    """How one kernel process ended, as far as is known."""

    ended: datetime
    exit_code: int | None
    signal: int | None
    # For a SIGKILL: whether the OOM killer sent it (None: not asked yet).
    oom: bool | None = None
    # Whether it had answered kernel_info; whether it never had and was
    # found silent (FAILED_TO_START either way, but who ended it may say).
    answered: bool = True
    stuck: bool = False


class LastExit(NamedTuple):
    """The most recent time the kernel's process ended and was restarted."""

    ended: datetime
    reason: str
    exit_code: int | None
    signal: int | None
    # The process's memory at its last sample, and the limit it lived under.
    memory_bytes: int | None = None
    limit_bytes: int | None = None
    # What it wrote last (state/last_words.py).
    last_words: LastWords | None = None


def unasked_reason(end: ProcessEnd) -> str:
    """Why a process nobody asked to stop ended."""
    if end.signal is not None and end.oom:
        return OOM
    if not end.answered:
        return FAILED_TO_START
    return EXITED_ON_ITS_OWN if end.signal is None else KILLED
