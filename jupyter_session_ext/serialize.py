"""Where a session becomes JSON: the ActiveSession model of the spec (§2) and
the server-wide status (§4). Pure functions of the registry's state."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_server.utils import ApiPath, to_os_path

from .registry import SessionRegistry, TrackedKernel
from .session_state import EXITED, isoformat

NOTEBOOK = "notebook"
CONSOLE = "console"
BACKGROUND = "background"


def session_mode(bound: list[dict[str, Any]]) -> str:
    """notebook if a notebook is bound; console for any other interactive
    document (console, or an editor's kernel); background if none."""
    if not bound:
        return BACKGROUND
    if any(s.get("type") == NOTEBOOK for s in bound):
        return NOTEBOOK
    return CONSOLE


def notebook_path(bound: list[dict[str, Any]]) -> str | None:
    for s in bound:
        if s.get("type") == NOTEBOOK and isinstance(s.get("path"), str):
            return s["path"]
    return None


def notebook_uri(path: str | None, root_dir: str) -> str | None:
    if path is None:
        return None
    try:
        return Path(to_os_path(ApiPath(path), root_dir)).resolve().as_uri()
    except (ValueError, OSError):
        return None


def socket_path(km: Any) -> str | None:
    """The Unix socket prefix of an ipc-transport kernel (`<prefix>-<port>`)."""
    if getattr(km, "transport", "tcp") != "ipc":
        return None
    ip = getattr(km, "ip", None)
    return os.path.abspath(ip) if ip else None


def last_activity(tracked: TrackedKernel) -> str | None:
    """As jupyter_server's kernel model says (its kernel manager keeps it);
    the state machine's own record otherwise."""
    value = getattr(tracked.km, "last_activity", None)
    if isinstance(value, datetime):
        return isoformat(value)
    return isoformat(tracked.state.last_activity)


def active_session(
    registry: SessionRegistry,
    tracked: TrackedKernel,
    bound: list[dict[str, Any]],
    root_dir: str,
) -> dict[str, Any]:
    state = tracked.state
    process = tracked.process
    assert process is not None
    connections = registry.connections(tracked.kernel_id)
    input_prompt, continuation_prompt = registry.prompts_for(tracked)
    path = notebook_path(bound)
    alive = state.status != EXITED
    return {
        # The seed's 21 fields, in its order.
        "session_id": tracked.kernel_id,
        "argv": list(process.argv),
        "process_id": process.pid if alive else None,
        "username": process.username,
        "display_name": tracked.display_name,
        "language": tracked.language,
        "interrupt_mode": tracked.interrupt_mode,
        "initial_env": dict(process.initial_env) if process.initial_env is not None else None,
        "connected": connections > 0,
        "started": isoformat(process.started),
        "session_mode": session_mode(bound),
        "working_directory": tracked.working_directory,
        "notebook_uri": notebook_uri(path, root_dir),
        "input_prompt": input_prompt,
        "continuation_prompt": continuation_prompt,
        "execution_queue": state.queue.to_json(),
        "status": state.status,
        "kernel_info": state.kernel_info,
        "idle_seconds": state.idle_seconds(),
        "busy_seconds": state.busy_seconds(),
        "socket_path": socket_path(tracked.km),
        # Beyond the seed (spec §2, second table).
        "kernel_name": tracked.kernel_name,
        "jupyter_sessions": [
            {k: s.get(k) for k in ("id", "path", "name", "type")} for s in bound
        ],
        "notebook_path": path,
        "connections": connections,
        "execution_count": state.execution_count,
        "last_activity": last_activity(tracked),
        "restart_count": tracked.restart_count,
        "awaiting_input": state.awaiting_input,
        "resource_usage": tracked.resource_usage,
    }


def server_status(
    registry: SessionRegistry, sessions: list[TrackedKernel], *, version: str, started: datetime
) -> dict[str, Any]:
    """Reference semantics: `active` counts sessions not exited; `idle_seconds`
    is how long every session has been idle, `busy_seconds` how long at least
    one has been busy."""
    uptime = int((datetime.now(timezone.utc) - started).total_seconds())
    return {
        "sessions": len(sessions),
        "active": sum(1 for t in sessions if t.state.status != EXITED),
        "busy": registry.server_busy,
        "idle_seconds": registry.server_idle_seconds(),
        "busy_seconds": registry.server_busy_seconds(),
        "uptime_seconds": max(0, uptime),
        "version": version,
        "process_id": os.getpid(),
        "started": isoformat(started),
    }
