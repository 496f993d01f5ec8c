"""The ActiveSession shape (seed's 21 fields + the spec's extras), checked
field by field so a wrong JSON type names the field."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

STATUSES = {"uninitialized", "starting", "ready", "idle", "busy", "offline", "exited"}

SEED_FIELDS = [
    "session_id",
    "argv",
    "process_id",
    "username",
    "display_name",
    "language",
    "interrupt_mode",
    "initial_env",
    "connected",
    "started",
    "session_mode",
    "working_directory",
    "notebook_uri",
    "input_prompt",
    "continuation_prompt",
    "execution_queue",
    "status",
    "kernel_info",
    "idle_seconds",
    "busy_seconds",
    "socket_path",
]
EXTRA_FIELDS = [
    "kernel_name",
    "jupyter_sessions",
    "notebook_path",
    "connections",
    "execution_count",
    "last_activity",
    "restart_count",
    "awaiting_input",
    "resource_usage",
    # Lifecycle.
    "culling",
    "idle_timeout",
    "last_exit",
]


def parse_utc(value: str) -> datetime:
    assert isinstance(value, str) and (value.endswith("Z") or value.endswith("+00:00")), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timezone.utc.utcoffset(None)
    return parsed


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_queue_entry(entry: dict[str, Any]) -> None:
    assert set(entry) == {
        "msg_id",
        "code",
        "code_truncated",
        "cell_id",
        "client_session_id",
        "username",
        "submitted",
        "started",
        "execution_count",
        "expected_seconds",
    }
    assert isinstance(entry["msg_id"], str) and isinstance(entry["code"], str)
    assert isinstance(entry["code_truncated"], bool)
    parse_utc(entry["submitted"])
    if entry["started"] is not None:
        parse_utc(entry["started"])
    assert entry["expected_seconds"] is None or (
        isinstance(entry["expected_seconds"], (int, float)) and entry["expected_seconds"] >= 0
    )


def check_culling(culling: Any) -> None:
    if culling is None:
        return
    assert set(culling) == {
        "idle_timeout",
        "source",
        "cull_busy",
        "cull_connected",
        "eligible",
        "cull_after",
        "seconds_left",
    }
    assert is_int(culling["idle_timeout"]) and culling["idle_timeout"] > 0
    assert culling["source"] in ("server", "kernelspec", "session")
    assert all(isinstance(culling[k], bool) for k in ("cull_busy", "cull_connected", "eligible"))
    if culling["eligible"]:
        parse_utc(culling["cull_after"])
        assert is_int(culling["seconds_left"]) and culling["seconds_left"] >= 0
    else:
        assert culling["cull_after"] is None and culling["seconds_left"] is None


def check_last_exit(last_exit: Any) -> None:
    if last_exit is None:
        return
    assert set(last_exit) == {
        "ended",
        "reason",
        "exit_code",
        "signal",
        "memory_bytes",
        "limit_bytes",
        "last_words",
    }
    parse_utc(last_exit["ended"])
    assert last_exit["reason"] in ("restarted", "exited", "killed", "oom", "failed_to_start")
    for name in ("exit_code", "signal", "memory_bytes", "limit_bytes"):
        assert last_exit[name] is None or is_int(last_exit[name])
    check_last_words(last_exit["last_words"])


def check_last_words(words: Any) -> None:
    if words is None:
        return
    assert set(words) == {"text", "why_null", "truncated", "summary", "fault"}
    assert (words["text"] is None) == (words["why_null"] is not None)
    assert words["why_null"] in (None, "remote", "not_captured", "hidden")
    assert isinstance(words["truncated"], bool)
    assert words["summary"] is None or isinstance(words["summary"], str)
    if words["text"] is not None:
        assert all(c.isprintable() or c in "\n\t" for c in words["text"])
    fault = words["fault"]
    if fault is not None:
        cell = {"cell_id", "execution_count", "line", "code_line"}
        assert set(fault) == {"signal", "message", "inner"} | cell
        assert fault["inner"] is None or set(fault["inner"]) == cell
        assert isinstance(fault["message"], str) and fault["message"]
        assert fault["line"] is None or (is_int(fault["line"]) and fault["line"] >= 1)


def check_active_session(s: dict[str, Any]) -> None:
    assert list(s)[: len(SEED_FIELDS)] == SEED_FIELDS
    assert set(s) == set(SEED_FIELDS) | set(EXTRA_FIELDS)
    assert isinstance(s["session_id"], str)
    assert isinstance(s["argv"], list) and all(isinstance(a, str) for a in s["argv"])
    assert s["process_id"] is None or is_int(s["process_id"])
    assert isinstance(s["username"], str) and s["username"]
    assert isinstance(s["display_name"], str) and s["display_name"]
    assert isinstance(s["language"], str) and s["language"]
    assert s["interrupt_mode"] in ("signal", "message")
    env = s["initial_env"]
    assert env is None or (
        isinstance(env, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    )
    assert isinstance(s["connected"], bool)
    parse_utc(s["started"])
    assert s["session_mode"] in ("console", "notebook", "background")
    assert isinstance(s["working_directory"], str) and s["working_directory"]
    assert s["notebook_uri"] is None or s["notebook_uri"].startswith("file://")
    assert isinstance(s["input_prompt"], str)
    assert isinstance(s["continuation_prompt"], str)
    queue = s["execution_queue"]
    assert set(queue) == {"active", "pending", "length"}
    assert is_int(queue["length"]) and queue["length"] == len(queue["pending"])
    for entry in ([queue["active"]] if queue["active"] else []) + queue["pending"]:
        check_queue_entry(entry)
    assert s["status"] in STATUSES
    assert isinstance(s["kernel_info"], dict)
    assert is_int(s["idle_seconds"]) and s["idle_seconds"] >= 0
    assert is_int(s["busy_seconds"]) and s["busy_seconds"] >= 0
    assert s["socket_path"] is None or isinstance(s["socket_path"], str)
    assert isinstance(s["kernel_name"], str)
    assert isinstance(s["jupyter_sessions"], list)
    for js in s["jupyter_sessions"]:
        assert set(js) == {"id", "path", "name", "type"}
    assert s["notebook_path"] is None or isinstance(s["notebook_path"], str)
    assert is_int(s["connections"]) and s["connections"] >= 0
    assert s["connected"] == (s["connections"] > 0)
    assert s["execution_count"] is None or is_int(s["execution_count"])
    parse_utc(s["last_activity"])
    assert is_int(s["restart_count"]) and s["restart_count"] >= 0
    assert s["awaiting_input"] is None or isinstance(s["awaiting_input"], dict)
    check_culling(s["culling"])
    assert s["idle_timeout"] is None or (is_int(s["idle_timeout"]) and s["idle_timeout"] >= 0)
    check_last_exit(s["last_exit"])
