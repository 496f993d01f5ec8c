"""Where a session becomes JSON: the ActiveSession model of the spec (§2) and
the server-wide status (§4). Functions of the registry's state; the only thing
kept is each session's JSON as of its last visible change (see `session_json`)."""

from __future__ import annotations

import json
import os
import secrets
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from jupyter_server.utils import ApiPath, to_os_path

from .ended_sessions import EndedSession
from .execution_history import FinishedExecution
from .models import JUPYTER_SESSION_FIELDS, TrackedKernel, notebook_path, session_mode
from .registry import SessionRegistry
from .session_state import EXITED
from .timestamps import isoformat

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
    return isoformat(tracked.last_activity())


def active_session(
    registry: SessionRegistry,
    tracked: TrackedKernel,
    bound: list[dict[str, Any]],
    root_dir: str,
    *,
    volatile: Any = None,
) -> dict[str, Any]:
    """One ActiveSession. With `volatile`, the fields that change without a
    visible change (timers, last_activity, resource_usage, culling) hold that
    marker."""
    state = tracked.state
    process = tracked.process
    assert process is not None
    connections = registry.connections(tracked.kernel_id)
    input_prompt, continuation_prompt = registry.prompts_for(tracked)
    path = notebook_path(bound)
    alive = state.status != EXITED
    marked = volatile is not None
    return {
        # The seed's 21 fields, in its order.
        "session_id": tracked.kernel_id,
        "argv": process.argv,
        "process_id": process.pid if alive else None,
        "username": process.username,
        "display_name": tracked.display_name,
        "language": tracked.language,
        "interrupt_mode": tracked.interrupt_mode,
        "initial_env": process.initial_env,
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
        "idle_seconds": volatile if marked else state.idle_seconds(),
        "busy_seconds": volatile if marked else state.busy_seconds(),
        "socket_path": socket_path(tracked.km),
        # Beyond the seed (spec §2, second table).
        "kernel_name": tracked.kernel_name,
        "jupyter_sessions": [
            {k: s.get(k) for k in JUPYTER_SESSION_FIELDS} for s in bound
        ],
        "notebook_path": path,
        "connections": connections,
        "execution_count": state.execution_count,
        "last_activity": volatile if marked else last_activity(tracked),
        "restart_count": tracked.restart_count,
        "awaiting_input": state.awaiting_input,
        "resource_usage": volatile if marked else tracked.resource_usage,
        # Lifecycle (spec §6).
        "culling": volatile if marked else registry.culling.info(tracked),
        "idle_timeout": tracked.idle_timeout,
        "last_exit": tracked.last_exit,
    }


# Encoding a session costs ~20 us (a 2.4 kB document; kernel_info alone is
# 1.4 kB), which made the list 1.8x api/kernels at 50 kernels. Most of it only
# changes with a visible change, which bumps `tracked.revision`: it is encoded
# once per revision, cut where the volatile values go, and each answer only
# fills those in. The random marker cannot be sent by a client or a kernel
# (and the cut is counted; a miscount falls back to a plain encoding).
_VOLATILE = f"\x00volatile {secrets.token_hex(16)}"
_VOLATILE_JSON = json.dumps(_VOLATILE)
_VOLATILE_FIELDS = 5  # idle_seconds, busy_seconds, last_activity, resource_usage, culling


class _Encoded(NamedTuple):
    key: tuple[Any, ...]
    pieces: list[str]
    usage: Any  # the resource_usage dict last encoded, and its text
    usage_json: str


_encoded: weakref.WeakKeyDictionary[TrackedKernel, _Encoded] = weakref.WeakKeyDictionary()


def session_json(
    registry: SessionRegistry,
    tracked: TrackedKernel,
    bound: list[dict[str, Any]],
    root_dir: str,
) -> str:
    """One ActiveSession as JSON text. Call after `registry.bound_sessions()`,
    which notices Jupyter session changes (a revision) of every kernel."""
    state = tracked.state
    # The revision, and a few cheap reads that are also covered by it, so that
    # a change that forgot its event still shows.
    key = (tracked.revision, registry.connections(tracked.kernel_id), state.status,
           state.queue.version, state.execution_count, tracked.working_directory)
    cached = _encoded.get(tracked)
    if cached is None or cached.key != key:
        document = active_session(registry, tracked, bound, root_dir, volatile=_VOLATILE)
        pieces = json.dumps(document).split(_VOLATILE_JSON)
        if len(pieces) != _VOLATILE_FIELDS + 1:
            return json.dumps(active_session(registry, tracked, bound, root_dir))
        cached = _Encoded(key, pieces, None, "null")
    usage = tracked.resource_usage
    if usage is not cached.usage:  # the sampler replaces it; it never mutates it
        cached = cached._replace(usage=usage, usage_json=json.dumps(usage))
    _encoded[tracked] = cached
    activity = last_activity(tracked)
    culling = registry.culling.info(tracked)
    p = cached.pieces
    return "".join((
        p[0], str(state.idle_seconds()), p[1], str(state.busy_seconds()), p[2],
        "null" if activity is None else f'"{activity}"', p[3], cached.usage_json, p[4],
        "null" if culling is None else json.dumps(culling), p[5],
    ))


def session_list_json(sessions: list[str]) -> str:
    """The list route's answer around sessions already encoded."""
    return f'{{"total": {len(sessions)}, "sessions": [{", ".join(sessions)}]}}'


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
        "busy": registry.changes.server_busy,
        "idle_seconds": registry.changes.server_idle_seconds(),
        "busy_seconds": registry.changes.server_busy_seconds(),
        "uptime_seconds": max(0, uptime),
        "version": version,
        "process_id": os.getpid(),
        "started": isoformat(started),
    }


def history_json(total: int, executions: list[FinishedExecution]) -> dict[str, Any]:
    return {"total": total, "executions": [f.to_json() for f in executions]}


def ended_json(records: list[EndedSession], root_dir: str) -> dict[str, Any]:
    return {
        "total": len(records),
        "sessions": [r.to_json(notebook_uri(r.notebook_path, root_dir)) for r in records],
    }
