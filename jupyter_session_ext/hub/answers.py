"""Where a user's server's answer becomes known types. Every user controls
their own server, so its answer is hostile until shaped: nesting and size
are checked before parsing, then only the fields the page and the metrics
use are kept, each as a finite number in range or null, a capped string,
or one of a known set (so a server cannot invent Prometheus label values).
An answer that does not fit raises InvalidAnswer: that server alone is
shown as invalid, and nothing downstream ever sees the raw document.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..state.timestamps import isoformat, parse_date
from ..untrusted import printable, structure

__all__ = [
    "InvalidAnswer",
    "active_sessions",
    "ended_sessions",
    "memory_status",
    "printable",
    "sessions_and_more",
]

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
EXIT_REASONS = frozenset({"restarted", "exited", "killed", "oom"})
ENDED_REASONS = frozenset(
    {"shutdown", "culled", "exited", "killed", "oom", "server_stopped", "server_lost"}
)
MEMORY_SOURCES = frozenset({"cgroup", "env", "config", "host"})
BYTES = 2.0**53


class InvalidAnswer(ValueError):
    """A server's answer that cannot be shaped: why, for the service's log."""


# -- the document -------------------------------------------------------------------


def parse(body: bytes) -> Any:
    """`body` as JSON, once its shape is known to be cheap to parse: not too
    deep, and not so many objects and lists that parsing them holds the
    service's event loop (5 MB of `[],` would take a second)."""
    depth, containers = structure(body, MAX_DEPTH)
    if depth > MAX_DEPTH:
        raise InvalidAnswer(f"nested deeper than {MAX_DEPTH} levels")
    if containers > MAX_CONTAINERS:
        raise InvalidAnswer(f"more than {MAX_CONTAINERS:,} objects and lists")
    try:
        # NaN and Infinity are not JSON: read as null, like any number out of range.
        return json.loads(body, parse_constant=lambda _: None)
    except (ValueError, RecursionError) as err:
        raise InvalidAnswer(f"not JSON ({printable(err, 80)})") from None


def _listed(document: Any, shape: Any, cap: int) -> list[dict[str, Any]]:
    """The `sessions` list of one of a server's routes, each item shaped."""
    items = document.get("sessions") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InvalidAnswer("not a list of sessions")
    return [shape(item) for item in items[:cap]]


def active_sessions(body: bytes) -> list[dict[str, Any]]:
    """`api/active-sessions`, shaped."""
    return _listed(parse(body), session, MAX_SESSIONS)


def ended_sessions(body: bytes) -> list[dict[str, Any]]:
    """`api/active-sessions/ended`, shaped."""
    return _listed(parse(body), ended, MAX_ENDED)


def memory_status(body: bytes) -> dict[str, Any] | None:
    """The `memory` of `api/active-sessions/status`, shaped; None for a
    server whose extension predates it."""
    return _memory(parse(body))


def sessions_and_more(
    body: bytes,
) -> tuple[list[dict[str, Any]], tuple[list[dict[str, Any]], dict[str, Any] | None] | None]:
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
        "limit_bytes": number(memory.get("limit_bytes"), BYTES, whole=True),
        "used_bytes": number(memory.get("used_bytes"), BYTES, whole=True),
        "source": one_of(memory.get("source"), MEMORY_SOURCES, "unknown"),
        "warning": memory.get("warning") is True,
    }


# -- values ---------------------------------------------------------------------------


def number(value: Any, high: float, whole: bool = False) -> int | float | None:
    """A finite number in [0, high], or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value) or not 0 <= value <= high:
        return None
    return int(value) if whole else float(value)


def signed(value: Any) -> int | None:
    """An exit code or signal number."""
    if isinstance(value, bool) or not isinstance(value, int) or not -1024 <= value <= 1024:
        return None
    return value


def text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def one_of(value: Any, known: frozenset[str], other: str) -> str:
    return value if isinstance(value, str) and value in known else other


def when(value: Any) -> str | None:
    parsed = parse_date(value) if isinstance(value, str) and len(value) <= 40 else None
    return isoformat(parsed) if parsed is not None else None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


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
        "busy_seconds": number(raw.get("busy_seconds"), 1e10, whole=True),
        "idle_seconds": number(raw.get("idle_seconds"), 1e10, whole=True),
        "connections": number(raw.get("connections"), 1e6, whole=True),
        "resource_usage": None
        if not isinstance(usage, dict)
        else {
            "memory_bytes": number(usage.get("memory_bytes"), 2.0**50, whole=True),
            "cpu_percent": number(usage.get("cpu_percent"), 1e5),
        },
        "execution_queue": {
            "active": {"code": text(active.get("code"), CODE) or ""}
            if isinstance(active, dict)
            else None,
            "length": number(queue.get("length"), 1e9, whole=True),
        },
        "last_exit": None
        if not isinstance(last_exit, dict)
        else {
            "reason": one_of(last_exit.get("reason"), EXIT_REASONS, "other"),
            "signal": signed(last_exit.get("signal")),
            "exit_code": signed(last_exit.get("exit_code")),
            "ended": when(last_exit.get("ended")),
            "memory_bytes": number(last_exit.get("memory_bytes"), BYTES, whole=True),
            "limit_bytes": number(last_exit.get("limit_bytes"), BYTES, whole=True),
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
        "idle_seconds": number(raw.get("idle_seconds"), 1e10, whole=True),
        "signal": signed(raw.get("signal")),
        "exit_code": signed(raw.get("exit_code")),
        "display_name": text(raw.get("display_name"), NAME) or "",
        "notebook_path": text(raw.get("notebook_path"), PATH),
        "session_mode": one_of(raw.get("session_mode"), MODES, "background"),
        "ended": when(raw.get("ended")),
        "memory_bytes": number(raw.get("memory_bytes"), BYTES, whole=True),
        "limit_bytes": number(raw.get("limit_bytes"), BYTES, whole=True),
    }
