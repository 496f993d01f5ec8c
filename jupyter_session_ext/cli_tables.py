"""What `jupyter active-sessions` prints: tables whose every cell came from
the server, escaped (names, paths and code can hold terminal escapes)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .state.last_words import around_the_fault
from .untrusted import printable


def format_duration(seconds: int) -> str:
    """Like the panel: 59s, 1m 05s, 1h 02m, 2d 03h."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}m {s % 60:02d}s"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{hours // 24}d {hours % 24:02d}h"


def table(rows: list[list[str]], headers: list[str]) -> str:
    # Every cell comes from the server (names, paths, code): shown escaped, so
    # nothing in it can move the cursor or recolour the terminal.
    rows = [[printable(c, 2000) for c in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def session_row(s: dict[str, Any]) -> list[str]:
    status = s["status"]
    if s.get("awaiting_input"):
        status += " (input)"
    if s["status"] == "busy":
        timer = format_duration(s["busy_seconds"])
    elif s["status"] in ("idle", "ready"):
        timer = format_duration(s["idle_seconds"])
    else:
        timer = "-"
    where = s.get("notebook_path") or (
        s["jupyter_sessions"][0]["path"] if s.get("jupyter_sessions") else f"({s['session_mode']})"
    )
    return [
        s["session_id"][:8],
        s["display_name"],
        status,
        timer,
        str(s["execution_queue"]["length"]),
        where,
        str(s["process_id"]) if s["process_id"] is not None else "-",
    ]


def ago(timestamp: str, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return format_duration(int((now - then).total_seconds())) + " ago"


def first_line(code: str, width: int = 50) -> str:
    lines = code.strip().splitlines() or [""]
    text = lines[0] + (" …" if len(lines) > 1 else "")
    return text if len(text) <= width else text[: width - 1] + "…"


def ended_row(r: dict[str, Any], now: datetime | None = None) -> list[str]:
    reason = r["reason"] + (" (killed)" if r["forced"] else "")
    if r["reason"] == "oom" and r.get("limit_bytes"):
        reason += f" ({size(r.get('memory_bytes') or 0)} of {size(r['limit_bytes'])})"
    elif r["signal"] is not None:
        reason += f" (signal {r['signal']})"
    elif r["exit_code"] is not None:
        reason += f" (code {r['exit_code']})"
    return [
        r["session_id"][:8],
        r["display_name"],
        reason,
        r["by"] or "-",
        ago(r["ended"], now),
        format_duration(r["idle_seconds"]),
        r["notebook_path"] or f"({r['session_mode']})",
    ]


def last_words(r: dict[str, Any], lines: int = 10) -> list[str]:
    """An ended kernel's last words, to print under the table: where it
    faulted, then the lines its process wrote last (around a fault report:
    what came before it, and the frames of the thread that faulted), each
    escaped."""
    words = r.get("last_words")
    if not words or (not words.get("summary") and not words.get("text")):
        return []
    head = f"{r['session_id'][:8]}: " + (words.get("summary") or "its last words")
    said = [printable(head, 2000)]
    text = words.get("text")
    if text and lines > 0:
        shown = around_the_fault(text.rstrip("\n").split("\n"), lines)
        if words.get("truncated") and shown[:1] != ["…"]:
            shown.insert(0, "…")
        said += ["  | " + printable(line, 2000) for line in shown]
    return said


def history_row(e: dict[str, Any]) -> list[str]:
    status = e["status"] + (f" ({e['error_name']})" if e["error_name"] else "")
    return [
        str(e["execution_count"]) if e["execution_count"] is not None else "-",
        status,
        f"{e['duration_seconds']:.1f}s",
        grew(e),
        ago(e["ended"]),
        e["cell_id"] or "-",
        first_line(e["code"] if e["code"] is not None else "(hidden)"),
    ]


def size(n: float) -> str:
    """Like the panel: decimal units, 1.2 GB, 300 MB."""
    value, units = abs(float(n)), ["B", "kB", "MB", "GB", "TB"]
    unit = 0
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    return (
        f"{value:.0f} {units[unit]}" if value >= 100 or unit == 0 else f"{value:.1f} {units[unit]}"
    )


def grew(e: dict[str, Any]) -> str:
    start, end = e.get("memory_start_bytes"), e.get("memory_end_bytes")
    if start is None or end is None:
        return "-"
    delta = end - start
    return "±0" if abs(delta) < 1000 else ("+" if delta > 0 else "-") + size(delta)


def used_of(memory: dict[str, Any]) -> str:
    """ "1.9 GB of 2.0 GB (cgroup), warning" from the status's `memory`."""
    used, limit = memory.get("used_bytes"), memory.get("limit_bytes")
    if used is None or not limit:
        return "not measured yet"
    warning = ", past the warning fraction" if memory.get("warning") else ""
    return f"{size(used)} of {size(limit)} ({memory.get('source')}){warning}"


def memory_row(e: dict[str, Any]) -> list[str]:
    peak, start = e.get("memory_peak_bytes"), e.get("memory_start_bytes")
    return [
        e["session_id"][:8],
        str(e["execution_count"]) if e["execution_count"] is not None else "-",
        grew(e),
        "+" + size(peak - start) if peak is not None and start is not None else "-",
        f"{e['duration_seconds']:.1f}s",
        ago(e["ended"]),
        first_line(e["code"] if e["code"] is not None else "(hidden)"),
    ]
