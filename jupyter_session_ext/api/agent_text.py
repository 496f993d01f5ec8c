"""The agent tools' answers as text for a model to read: made from the
structured answers (`serialize_agents.py`), never from the state, so the
two always say the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..state.last_words import around_the_fault
from .serialize_agents import first_line as _first

_UNITS = ("B", "KB", "MB", "GB", "TB")


def size(n: int | None) -> str:
    if n is None:
        return "?"
    value, unit = float(n), 0
    while value >= 1000 and unit < len(_UNITS) - 1:
        value, unit = value / 1000, unit + 1
    return f"{value:.0f} {_UNITS[unit]}" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def cell(running: dict[str, Any]) -> str:
    """A cell: its id, and its first line where the caller may see code."""
    name = f"cell {running['cell_id']}" if running.get("cell_id") else "a cell"
    if running.get("execution_count") is not None:
        name += f" [{running['execution_count']}]"
    line = running.get("first_line")
    return f"{name} `{line}`" if line else name


def runs(running: dict[str, Any] | None) -> str:
    if running is None:
        return ""
    said = f"running {cell(running)}"
    if running["running_seconds"] is not None:
        said += f" for {duration(running['running_seconds'])}"
    if running["expected_seconds"] is not None:
        left = running["expected_remaining_seconds"]
        said += f" (took {duration(running['expected_seconds'])} last time: " + (
            f"~{duration(left)} left)" if left else "now longer than that)"
        )
    return said


def kernel_line(k: dict[str, Any]) -> str:
    where = k["notebook"] or "no notebook"
    status = k["status"]
    if status == "busy":
        status += f" for {duration(k['busy_seconds'])}"
    elif status in ("idle", "ready"):
        status += f" for {duration(k['idle_seconds'])}"
    parts = [f"{k['kernel']} ({where}, {k['kernel_name']}): {status}"]
    if k["running"]:
        parts.append(runs(k["running"]))
    if k["queued"]:
        parts.append(f"{k['queued']} queued")
    if k["awaiting_input"]:
        parts.append("WAITING ON input() for a person")
    if k["memory_bytes"] is not None:
        limit = f" of {size(k['limit_bytes'])}" if k["limit_bytes"] else ""
        parts.append(f"memory {size(k['memory_bytes'])}{limit}")
    return "; ".join(parts)


def memory_line(memory: dict[str, Any]) -> str:
    if memory["used_bytes"] is None or memory["limit_bytes"] is None:
        return "memory not measured yet"
    said = f"memory {size(memory['used_bytes'])} used of {size(memory['limit_bytes'])}"
    said += f" ({memory['source']})"
    if memory["warning"]:
        said += f"; WARNING: past {memory['warning_fraction']:.0%} of the limit"
    return said


def list_kernels(data: dict[str, Any]) -> str:
    kernels = data["kernels"]
    count = f"{len(kernels)} kernel{'s' if len(kernels) != 1 else ''}"
    head = f"{count}; {memory_line(data['memory'])}."
    return "\n".join([head, *(f"- {kernel_line(k)}" for k in kernels)])


def kernel_status(data: dict[str, Any]) -> str:
    s = data["session"]
    queue = s["execution_queue"]
    lines = [
        f"Kernel {data['kernel']} ({s['notebook_path'] or 'no notebook'}, {s['kernel_name']}): "
        f"{s['status']}, busy {duration(s['busy_seconds'])}, idle {duration(s['idle_seconds'])}.",
    ]
    if data["running"]:
        lines.append("It is " + runs(data["running"]) + ".")
    if queue["length"]:
        lines.append(f"{queue['length']} cell(s) queued behind it.")
    if s["awaiting_input"]:
        lines.append("It waits on input() for a person to answer.")
    if s["last_exit"]:
        lines.append(f"Its last process ended: {s['last_exit']['reason']}.")
        lines += said_last(s["last_exit"]["last_words"])
    lines.append(
        f"Process {s['process_id']}, {s['connections']} connection(s), "
        f"{s['restart_count']} restart(s), execution count {s['execution_count']}."
    )
    usage = s["resource_usage"]
    if usage:
        lines.append(f"Memory {size(usage['memory_bytes'])}, CPU {usage['cpu_percent']:.0f}%.")
    lines.append("The whole record is in the structured content.")
    return "\n".join(lines)


def finished_line(f: dict[str, Any]) -> str:
    said = f"{cell(f)}: {f['status']} in {duration(f['duration_seconds'])}"
    return said + (f" ({f['error_name']})" if f["error_name"] else "")


def wait_for_idle(data: dict[str, Any]) -> str:
    outcome = data["outcome"]
    waited = duration(data["waited_seconds"])
    head = {
        "idle": f"Kernel {data['kernel']} is idle (waited {waited}).",
        "timeout": f"Still busy after {waited}: kernel {data['kernel']} is "
        + (runs(data["running"]) or data["status"])
        + (f", {data['queued']} queued behind it" if data["queued"] else "")
        + ".",
        "awaiting_input": f"Kernel {data['kernel']} waits on input() for a person "
        f"(after {waited}); it will not go idle until someone answers.",
        "exited": f"Kernel {data['kernel']}'s process is gone (after {waited}).",
        "ended": f"Kernel {data['kernel']} was shut down while waited for (after {waited}).",
    }[outcome]
    lines = [head]
    if data["finished_total"]:
        lines.append(f"Finished meanwhile ({data['finished_total']}), oldest first:")
        lines += [f"- {finished_line(f)}" for f in data["finished"]]
    else:
        lines.append("Nothing finished meanwhile.")
    return "\n".join(lines)


def kernel_history(data: dict[str, Any]) -> str:
    history = data["history"]
    lines = [f"Kernel {data['kernel']}: {history['total']} execution(s) finished, newest first:"]
    for e in history["executions"]:
        line = f"- {finished_line({**e, 'first_line': _first(e['code'])})}"
        if e["memory_start_bytes"] is not None and e["memory_end_bytes"] is not None:
            line += f"; memory {size(e['memory_start_bytes'])} to {size(e['memory_end_bytes'])}"
        lines.append(line)
    if not history["complete"]:
        lines.append("(The server is still reading what earlier runs left: ask again soon.)")
    return "\n".join(lines)


def ended_kernels(data: dict[str, Any]) -> str:
    lines = [f"{data['total']} kernel(s) ended recently, newest first:"]
    for e in data["sessions"]:
        reason = e["reason"] + (" (forced)" if e["forced"] else "")
        if e["by"]:
            reason += f" by {e['by']}"
        if e["reason"] == "oom":
            reason += f", at {size(e['memory_bytes'])} of {size(e['limit_bytes'])}"
        where = e["notebook_path"] or "no notebook"
        line = f"- {e['session_id']} ({where}): {reason} at {e['ended']}"
        last = e["last_execution"]
        if last:
            line += f"; last ran {finished_line({**last, 'first_line': _first(last['code'])})}"
        lines.append(line)
        lines += ["  " + said for said in said_last(e["last_words"])]
    if not data["complete"]:
        lines.append("(The server is still reading what earlier runs left: ask again soon.)")
    return "\n".join(lines)


# An agent's context is small: the fault's summary and the last lines of what
# the process wrote (the whole tail is in the structured content).
LAST_WORDS_LINES = 12


def said_last(words: dict[str, Any] | None) -> list[str]:
    """A process's last words as lines: where it faulted, then the end of
    what it wrote (or why that is not shown)."""
    if words is None:
        return []
    lines = [f"Where it faulted: {words['summary']}."] if words["summary"] else []
    if words["text"]:
        # Around a fault report: what the process wrote before it, and the
        # faulting thread's first frames (its last are the interpreter's).
        shown = around_the_fault(words["text"].rstrip("\n").split("\n"), LAST_WORDS_LINES)
        lines.append("What it wrote last:")
        lines += ["    " + line for line in shown]
    elif words["why_null"]:
        lines.append(
            f"What it wrote is not shown: {WHY_NOT_SHOWN.get(words['why_null'], 'unknown')}."
        )
    return lines


WHY_NOT_SHOWN = {
    "hidden": "only who may execute code may read it",
    "remote": "the kernel ran elsewhere (a gateway), with no process here to listen to",
    "not_captured": "its output was not captured (KernelOutput.capture is off, or another "
    "launcher started it)",
}


def memory_headroom(data: dict[str, Any]) -> str:
    lines = [memory_line(data["memory"]).capitalize() + "."]
    if data["headroom_bytes"] is not None:
        lines.append(f"{size(data['headroom_bytes'])} left ({data['used_fraction']:.0%} used).")
    if data["largest"]:
        lines.append("Largest kernels:")
        lines += [f"- {kernel_line(k)}" for k in data["largest"]]
    return "\n".join(lines)


def interrupt_kernel(data: dict[str, Any]) -> str:
    after = runs(data["running"]) or "running nothing"
    return f"Interrupted kernel {data['kernel']}; it is {data['status']}, {after}."


RENDER: dict[str, Callable[[dict[str, Any]], str]] = {
    "list_kernels": list_kernels,
    "kernel_status": kernel_status,
    "wait_for_idle": wait_for_idle,
    "kernel_history": kernel_history,
    "ended_kernels": ended_kernels,
    "memory_headroom": memory_headroom,
    "interrupt_kernel": interrupt_kernel,
}
