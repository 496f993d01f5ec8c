"""Records as the store keeps them: an ended kernel and a finished execution
as JSON text, and back.

What is read back is shaped like anything from outside: the file sits in the
user's data directory, where another program (or another version of this
one) may have written it. Every field gets its type, strings their cap,
numbers a finite range; a row that does not fit is refused (`BadRow`), the
rest are kept.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Any

from ..state.ended import REASONS, EndedKernel
from ..state.history import OUTCOMES, FinishedExecution
from ..state.last_words import (
    CODE_LINE_MAX,
    MESSAGE_MAX,
    WHY_NULL,
    CellLine,
    Fault,
    LastWords,
)
from ..state.queue import QueueEntry
from ..state.timestamps import isoformat, utcnow
from ..untrusted import IDENTIFIER_MAX, Refused, date, printable, printable_lines

# Code kept whole (code_preview_length 0) is still capped when read back.
CODE_MAX = 1_000_000
TEXT_MAX = 4096
# A process's last words are capped by KernelOutput.tail_bytes when kept;
# read back, by this whatever the file says.
WORDS_MAX = 1_048_576


class BadRow(Refused):
    """A stored row that is not a record of ours."""


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


# -- writing ----------------------------------------------------------------------


def execution_row(finished: FinishedExecution) -> str:
    entry = finished.entry
    return dumps(
        {
            "msg_id": entry.msg_id,
            "code": entry.code,
            "code_truncated": entry.code_truncated,
            "cell_id": entry.cell_id,
            "client_session_id": entry.client_session_id,
            "username": entry.username,
            "submitted": isoformat(entry.submitted),
            "started": isoformat(entry.started),
            "execution_count": entry.execution_count,
            "expected_seconds": entry.expected_seconds,
            "ended": isoformat(finished.ended),
            "duration_seconds": finished.duration_seconds,
            "status": finished.status,
            "error_name": finished.error_name,
            "memory_start_bytes": entry.memory_start_bytes,
            "memory_end_bytes": finished.memory_end_bytes,
            "memory_peak_bytes": entry.memory_peak_bytes,
        }
    )


def ended_row(record: EndedKernel, busy: bool = False) -> str:
    """An ended kernel without its executions (those are rows of their own);
    `busy`: whether it was running a cell (for a live kernel's snapshot)."""
    return dumps(
        {
            "session_id": record.session_id,
            "display_name": record.display_name,
            "kernel_name": record.kernel_name,
            "notebook_path": record.notebook_path,
            "session_mode": record.session_mode,
            "username": record.username,
            "started": isoformat(record.started),
            "ended": isoformat(record.ended),
            "reason": record.reason,
            "forced": record.forced,
            "by": record.by,
            "exit_code": record.exit_code,
            "signal": record.signal,
            "idle_seconds": record.idle_seconds,
            "memory_bytes": record.memory_bytes,
            "limit_bytes": record.limit_bytes,
            "total": record.total,
            "busy": busy,
            "last_words": words_row(record.last_words),
        }
    )


def words_row(words: LastWords | None) -> dict[str, Any] | None:
    if words is None:
        return None
    fault = words.fault
    return {
        "text": words.text,
        "truncated": words.truncated,
        "why_null": words.why_null,
        "fault": None
        if fault is None
        else {
            "signal": fault.signal,
            "message": fault.message,
            "cell": _cell_row(fault.cell),
            "inner": _cell_row(fault.inner),
        },
    }


def _cell_row(cell: CellLine | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {
        "cell_id": cell.cell_id,
        "execution_count": cell.execution_count,
        "line": cell.line,
        "code_line": cell.code_line,
    }


# -- reading ----------------------------------------------------------------------


def _object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > 2 * CODE_MAX:
        raise BadRow("not a stored record")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRow("not JSON") from None
    if not isinstance(value, dict):
        raise BadRow("not an object")
    return value


def _text(raw: dict[str, Any], name: str, cap: int = IDENTIFIER_MAX, empty: bool = True) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or (not empty and not value):
        raise BadRow(f"{name}: not text")
    return value[:cap]


def _optional_text(raw: dict[str, Any], name: str, cap: int = IDENTIFIER_MAX) -> str | None:
    return None if raw.get(name) is None else _text(raw, name, cap)


def _when(raw: dict[str, Any], name: str) -> datetime:
    value = date(raw.get(name)) if isinstance(raw.get(name), str) else None
    if value is None:
        raise BadRow(f"{name}: not a time")
    return value


def _optional_when(raw: dict[str, Any], name: str) -> datetime | None:
    return None if raw.get(name) is None else _when(raw, name)


def _int(raw: dict[str, Any], name: str, low: int = 0, high: int = 2**53) -> int:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRow(f"{name}: not a whole number in range")
    return value


def _optional_int(
    raw: dict[str, Any], name: str, low: int = -(2**31), high: int = 2**31
) -> int | None:
    return None if raw.get(name) is None else _int(raw, name, low, high)


def _bytes(raw: dict[str, Any], name: str) -> int | None:
    """A memory figure (rows written before there were any have none)."""
    return _optional_int(raw, name, 0, 2**62)


def _seconds(raw: dict[str, Any], name: str) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRow(f"{name}: not a number")
    if not math.isfinite(value) or not 0 <= value <= 10**9:
        raise BadRow(f"{name}: out of range")
    return float(value)


def _flag(raw: dict[str, Any], name: str) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise BadRow(f"{name}: not true or false")
    return value


def execution(text: Any) -> FinishedExecution:
    raw = _object(text)
    status = raw.get("status")
    if status not in OUTCOMES:
        raise BadRow("status: unknown")
    entry = QueueEntry(
        msg_id=_text(raw, "msg_id", empty=False),
        code=_text(raw, "code", CODE_MAX),
        code_truncated=_flag(raw, "code_truncated"),
        cell_id=_optional_text(raw, "cell_id"),
        client_session_id=_optional_text(raw, "client_session_id"),
        username=_optional_text(raw, "username"),
        submitted=_when(raw, "submitted"),
        started=_optional_when(raw, "started"),
        execution_count=_optional_int(raw, "execution_count", 0),
        expected_seconds=_seconds(raw, "expected_seconds"),
        memory_start_bytes=_bytes(raw, "memory_start_bytes"),
        memory_peak_bytes=_bytes(raw, "memory_peak_bytes"),
    )
    return FinishedExecution(
        entry,
        _when(raw, "ended"),
        _seconds(raw, "duration_seconds") or 0.0,
        status,
        _optional_text(raw, "error_name"),
        _bytes(raw, "memory_end_bytes"),
    )


def ended(text: Any, executions: tuple[FinishedExecution, ...] = ()) -> tuple[EndedKernel, bool]:
    """(the ended kernel, whether it was busy when written)."""
    raw = _object(text)
    reason = raw.get("reason")
    if reason not in REASONS:
        raise BadRow("reason: unknown")
    when_ended = _when(raw, "ended")
    age = max(0.0, (utcnow() - when_ended).total_seconds())
    record = EndedKernel(
        session_id=_text(raw, "session_id", empty=False),
        display_name=_text(raw, "display_name", TEXT_MAX),
        kernel_name=_text(raw, "kernel_name"),
        notebook_path=_optional_text(raw, "notebook_path", TEXT_MAX),
        session_mode=_text(raw, "session_mode"),
        username=_text(raw, "username"),
        started=_when(raw, "started"),
        ended=when_ended,
        reason=reason,
        forced=_flag(raw, "forced"),
        by=_optional_text(raw, "by"),
        exit_code=_optional_int(raw, "exit_code"),
        signal=_optional_int(raw, "signal", 0, 1024),
        idle_seconds=_int(raw, "idle_seconds", 0, 10**10),
        last_execution=executions[0] if executions else None,
        # The retention counts from when it ended, on this server's clock.
        recorded=time.monotonic() - age,
        executions=executions,
        total=max(_int(raw, "total", 0, 2**53), len(executions)),
        memory_bytes=_bytes(raw, "memory_bytes"),
        limit_bytes=_bytes(raw, "limit_bytes"),
        last_words=last_words(raw.get("last_words")),
    )
    return record, _flag(raw, "busy")


def last_words(raw: Any) -> LastWords | None:
    """A stored record's last words (rows written before there were any
    have none), shaped as the text was when kept: capped, escaped."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRow("last_words: not an object")
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise BadRow("last_words: text not text")
    why = raw.get("why_null")
    if why is not None and why not in WHY_NULL:
        raise BadRow("last_words: why_null unknown")
    fault = raw.get("fault")
    return LastWords(
        printable_lines(text, WORDS_MAX) if text is not None else None,
        _flag(raw, "truncated"),
        _fault(fault) if fault is not None else None,
        why,
    )


def _fault(raw: Any) -> Fault:
    if not isinstance(raw, dict):
        raise BadRow("last_words.fault: not an object")
    # One line each, escaped when kept (escapes make it longer than its cap).
    return Fault(
        signal=_optional_text(raw, "signal"),
        message=printable(_text(raw, "message", 8 * MESSAGE_MAX), 8 * MESSAGE_MAX),
        cell=_cell(raw.get("cell")),
        inner=_cell(raw.get("inner")),
    )


def _cell(raw: Any) -> CellLine | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRow("last_words.fault: a cell that is not an object")
    code = _optional_text(raw, "code_line", 8 * CODE_LINE_MAX)
    return CellLine(
        cell_id=_optional_text(raw, "cell_id"),
        execution_count=_optional_int(raw, "execution_count", 0),
        line=_optional_int(raw, "line", 1),
        code_line=printable(code, 8 * CODE_LINE_MAX) if code is not None else None,
    )
