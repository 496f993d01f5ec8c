"""Where a user's server's answer becomes known types. Every user controls
their own server, so its answer is hostile until shaped: nesting and size
are checked before parsing, then only the fields the page and the metrics
use are kept, each as a finite number in range or null, a capped string,
or one of a known set (so a server cannot invent Prometheus label values).
An answer that does not fit raises InvalidAnswer: that server alone is
shown as invalid, and nothing downstream ever sees the raw document.
"""

from __future__ import annotations

import re
from typing import Any

from ..state.timestamps import isoformat
from ..untrusted import Refused, date, integer, loads, number, one_of, printable, text, whole

__all__ = [
    "InvalidAnswer",
    "Records",
    "active_sessions",
    "ended_sessions",
    "memory_status",
    "printable",
    "sessions_and_more",
]

MAX_BYTES = 64 * 2**20  # the service stops reading sooner (FleetView.max_answer_bytes)
MAX_DEPTH = 32  # a real answer nests 5 deep
MAX_CONTAINERS = 100_000  # objects and lists; a real answer has about 10 a kernel
MAX_SESSIONS = 1000  # per server; more are cut off
MAX_ENDED = 200  # a server keeps at most `ended_max` (200) itself
NAME = 200
PATH = 1024
CODE = 4000

KERNEL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.I)
STATUSES = frozenset({"uninitialized", "starting", "ready", "idle", "busy", "offline", "exited"})
MODES = frozenset({"console", "notebook", "background"})
EXIT_REASONS = frozenset({"restarted", "exited", "killed", "oom", "failed_to_start"})
ENDED_REASONS = frozenset(
    {
        "shutdown",
        "culled",
        "exited",
        "killed",
        "oom",
        "failed_to_start",
        "server_stopped",
        "server_lost",
    }
)
MEMORY_SOURCES = frozenset({"cgroup", "env", "config", "host"})
BYTES = 2.0**53


class InvalidAnswer(Refused):
    """A server's answer that cannot be shaped: why, for the service's log."""


class Records(list):
    """The records of a list a server answered that could be shaped; those
    that could not are left out and counted (`skipped`, the first's reason
    in `why`): one bad record does not hide the others."""

    skipped = 0
    why: str | None = None


# -- the document -------------------------------------------------------------------


def parse(body: bytes) -> Any:
    """`body` as JSON, once its shape is known to be cheap to parse."""
    try:
        return loads(body, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH, max_containers=MAX_CONTAINERS)
    except Refused as err:
        raise InvalidAnswer(str(err)) from None


def _listed(document: Any, shape: Any, cap: int) -> Records:
    """The `sessions` list of one of a server's routes, each item shaped."""
    items = document.get("sessions") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InvalidAnswer("not a list of sessions")
    records = Records()
    for item in items[:cap]:
        try:
            records.append(shape(item))
        except InvalidAnswer as err:
            records.skipped += 1
            records.why = records.why or str(err)
    return records


def left_out(*lists: Any) -> tuple[int, str | None]:
    """How many records of shaped lists were left out, and that said for the
    service's log (None when none was)."""
    short = [r for r in lists if isinstance(r, Records) and r.skipped]
    if not short:
        return 0, None
    count = sum(r.skipped for r in short)
    return count, f"answer with {count} record(s) left out, the first: {short[0].why}"


def active_sessions(body: bytes) -> Records:
    """`api/active-sessions`, shaped."""
    return _listed(parse(body), session, MAX_SESSIONS)


def ended_sessions(body: bytes) -> Records:
    """`api/active-sessions/ended`, shaped."""
    return _listed(parse(body), ended, MAX_ENDED)


def memory_status(body: bytes) -> dict[str, Any] | None:
    """The `memory` of `api/active-sessions/status`, shaped; None for a
    server whose extension predates it."""
    return _memory(parse(body))


def sessions_and_more(
    body: bytes,
) -> tuple[Records, tuple[Records, dict[str, Any] | None] | None]:
    """`api/active-sessions?include=ended,status`, shaped: the sessions, and
    the ended kernels and memory status when the server included them (None
    from a server whose extension predates `include`: it ignores it)."""
    document = parse(body)
    sessions = _listed(document, session, MAX_SESSIONS)
    if not isinstance(document, dict) or "ended" not in document or "status" not in document:
        return sessions, None
    return sessions, (_listed(document["ended"], ended, MAX_ENDED), _memory(document["status"]))


def _memory(document: Any) -> dict[str, Any] | None:
    if not isinstance(document, dict):
        raise InvalidAnswer("a status that is not an object")
    memory = document.get("memory")
    if not isinstance(memory, dict):
        return None
    return {
        "limit_bytes": whole(memory.get("limit_bytes"), 0, BYTES),
        "used_bytes": whole(memory.get("used_bytes"), 0, BYTES),
        "source": one_of(memory.get("source"), MEMORY_SOURCES, "unknown"),
        "warning": memory.get("warning") is True,
    }


# -- values ---------------------------------------------------------------------------


def signed(value: Any) -> int | None:
    """An exit code or signal number."""
    return integer(value, -1024, 1024)


def when(value: Any) -> str | None:
    """A date the page can show: 1970 to 2200 in UTC, else None."""
    return isoformat(date(value))


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fault_line(last_words: Any) -> str | None:
    """Of a process's last words, only the one line that says where it
    faulted (never its text): the fleet shows it to who may see sessions."""
    summary = last_words.get("summary") if isinstance(last_words, dict) else None
    return text(printable(summary, CODE), CODE) if isinstance(summary, str) else None


def kernel_id(value: Any) -> str:
    if not isinstance(value, str) or not KERNEL_ID.match(value):
        raise InvalidAnswer(f"a kernel id that is not a UUID: {printable(value, 60)}")
    return value.lower()


# -- the shapes ---------------------------------------------------------------------


def session(raw: Any) -> dict[str, Any]:
    """One of a server's active sessions, as the fleet page shows it."""
    if not isinstance(raw, dict):
        raise InvalidAnswer("a session that is not an object")
    usage = raw.get("resource_usage")
    queue = obj(raw.get("execution_queue"))
    active = queue.get("active")
    last_exit = raw.get("last_exit")
    return {
        "session_id": kernel_id(raw.get("session_id")),
        "status": one_of(raw.get("status"), STATUSES, "unknown"),
        "display_name": text(raw.get("display_name"), NAME) or "",
        "kernel_name": text(raw.get("kernel_name"), NAME),
        "notebook_path": text(raw.get("notebook_path"), PATH),
        "session_mode": one_of(raw.get("session_mode"), MODES, "background"),
        "busy_seconds": whole(raw.get("busy_seconds"), 0, 1e10),
        "idle_seconds": whole(raw.get("idle_seconds"), 0, 1e10),
        "connections": whole(raw.get("connections"), 0, 1e6),
        "resource_usage": None
        if not isinstance(usage, dict)
        else {
            "memory_bytes": whole(usage.get("memory_bytes"), 0, 2.0**50),
            "cpu_percent": number(usage.get("cpu_percent"), 0, 1e5),
        },
        "execution_queue": {
            "active": {"code": text(active.get("code"), CODE) or ""}
            if isinstance(active, dict)
            else None,
            "length": whole(queue.get("length"), 0, 1e9),
        },
        "last_exit": None
        if not isinstance(last_exit, dict)
        else {
            "reason": one_of(last_exit.get("reason"), EXIT_REASONS, "other"),
            "signal": signed(last_exit.get("signal")),
            "exit_code": signed(last_exit.get("exit_code")),
            "ended": when(last_exit.get("ended")),
            "memory_bytes": whole(last_exit.get("memory_bytes"), 0, BYTES),
            "limit_bytes": whole(last_exit.get("limit_bytes"), 0, BYTES),
            "fault": fault_line(last_exit.get("last_words")),
        },
    }


def ended(raw: Any) -> dict[str, Any]:
    """A kernel that ended lately on a server."""
    if not isinstance(raw, dict):
        raise InvalidAnswer("an ended kernel that is not an object")
    return {
        "session_id": kernel_id(raw.get("session_id")),
        "reason": one_of(raw.get("reason"), ENDED_REASONS, "other"),
        "forced": raw.get("forced") is True,
        "by": text(raw.get("by"), NAME),
        "idle_seconds": whole(raw.get("idle_seconds"), 0, 1e10),
        "signal": signed(raw.get("signal")),
        "exit_code": signed(raw.get("exit_code")),
        "display_name": text(raw.get("display_name"), NAME) or "",
        "notebook_path": text(raw.get("notebook_path"), PATH),
        "session_mode": one_of(raw.get("session_mode"), MODES, "background"),
        "ended": when(raw.get("ended")),
        "memory_bytes": whole(raw.get("memory_bytes"), 0, BYTES),
        "limit_bytes": whole(raw.get("limit_bytes"), 0, BYTES),
        "fault": fault_line(raw.get("last_words")),
    }
