"""A kernel process's last words: what it wrote last on its stderr and
stdout before it ended, and, when it died of a fault, where.

Python's fault handler (on in kernels by default: lifecycle/kernel_output.py)
writes a traceback of every thread when a process dies of SIGSEGV, SIGABRT
and their kind. ipykernel compiles each cell to
`<tmp>/ipykernel_<pid>/<MurmurHash2 of its code>.py`, so a frame names the
hash of the cell's code: hashed here, lazily and only at the end, for the
executions the kernel's record kept, it says which cell and which line.
The text is the kernel's: parsed in linear time, trusted for nothing.
"""

from __future__ import annotations

import re
import signal as signals
from collections.abc import Iterable
from dataclasses import dataclass

from ..untrusted import printable
from .queue import QueueEntry, murmur2

# ipykernel's seed for the names of cell files (`compiler.get_tmp_hash_seed`).
CELL_HASH_SEED = 0xC70F6907
# At most this much code is hashed to find a cell (the running one and the
# newest come first): a kernel whose cells are kept whole and huge costs
# the server a bounded moment at its crash.
HASH_BUDGET = 1_000_000
MESSAGE_MAX = 200
CODE_LINE_MAX = 200

# Why `text` is null.
REMOTE = "remote"  # a gateway's kernel: there is no process here to listen to
NOT_CAPTURED = "not_captured"  # capture off, or a process not launched through it
HIDDEN = "hidden"  # the reader may not see what kernels run (no `execute`)
WHY_NULL = (REMOTE, NOT_CAPTURED, HIDDEN)

# The signals of a fault (not a kill): the process died of what it ran.
FAULT_SIGNALS = frozenset(
    s.value
    for s in (
        signals.SIGSEGV,
        signals.SIGABRT,
        signals.SIGFPE,
        signals.SIGBUS,
        signals.SIGILL,
        getattr(signals, "SIGSYS", signals.SIGSEGV),
        getattr(signals, "SIGTRAP", signals.SIGSEGV),
    )
)
# What the fault handler says of each ("Fatal Python error: Aborted").
HANDLER_SAYS = {
    "Segmentation fault": "SIGSEGV",
    "Aborted": "SIGABRT",
    "Floating-point exception": "SIGFPE",
    "Floating point exception": "SIGFPE",
    "Bus error": "SIGBUS",
    "Illegal instruction": "SIGILL",
}

_FATAL = "Fatal Python error: "
_STACK = re.compile(r"(?:Current thread 0x[0-9a-fA-F]+|Stack) \(most recent call first\):")
_FRAME = re.compile(r'  File "(?P<file>[^"\n]{1,4096})", line (?P<line>\d{1,9}) in ')
_CELL_FILE = re.compile(r"(?:^|[/\\])ipykernel_\d{1,10}[/\\](?P<hash>\d{1,10})\.py\Z")


@dataclass(frozen=True)
class CellLine:
    """A cell the kernel ran, and the line of it a frame names (None: the
    cell that was running, the line not known)."""

    cell_id: str | None
    execution_count: int | None
    line: int | None = None
    code_line: str | None = None  # code: shown only to who may see code

    def said(self, reveal: bool = True) -> str:
        cell = "cell" + (f" [{self.execution_count}]" if self.execution_count is not None else "")
        cell += f" ({self.cell_id})" if self.cell_id is not None else ""
        if self.line is None:
            return cell
        return f"{cell}, line {self.line}" + (
            f": `{self.code_line}`" if reveal and self.code_line else ""
        )


@dataclass(frozen=True)
class Fault:
    """How a process died of a fault: its signal's name, what the fault
    handler said, the cell that was run (the outermost frame in a cell) and,
    when it called into another, the innermost (a function defined there)."""

    signal: str | None
    message: str
    cell: CellLine | None = None
    inner: CellLine | None = None

    def summary(self, reveal: bool = True) -> str:
        """One line: "Segmentation fault in cell [5] (c-1), line 3: `f(x)`"."""
        if self.cell is None:
            return self.message
        if self.cell.line is None:
            return f"{self.message} while running {self.cell.said(reveal)}"
        inside = f", inside {self.inner.said(reveal)}" if self.inner is not None else ""
        return f"{self.message} in {self.cell.said(reveal)}{inside}"


@dataclass(frozen=True)
class LastWords:
    """`text`: the tail of what the process wrote (null with `why_null`);
    `truncated`: older output was dropped; `fault`: when it died of one."""

    text: str | None
    truncated: bool = False
    fault: Fault | None = None
    why_null: str | None = None


REMOTE_WORDS = LastWords(None, why_null=REMOTE)
NOT_CAPTURED_WORDS = LastWords(None, why_null=NOT_CAPTURED)


def signal_name(number: int | None) -> str | None:
    if number is None:
        return None
    try:
        return signals.Signals(number).name
    except ValueError:
        return None


def handler_block(text: str) -> tuple[str, list[tuple[str, int]]] | None:
    """The last fault handler's report in `text`: what it said, and the
    frames of the thread that faulted (file, line), innermost first."""
    start = text.rfind(_FATAL)
    if start == -1:
        return None
    end = text.find("\n", start)
    message = text[start + len(_FATAL) : end if end != -1 else len(text)].strip()
    stack = _STACK.search(text, start)
    frames: list[tuple[str, int]] = []
    if stack is not None:
        at = text.find("\n", stack.end())
        while at != -1:
            frame = _FRAME.match(text, at + 1)
            if frame is None:
                break
            frames.append((frame["file"], int(frame["line"])))
            at = text.find("\n", frame.end())
    return printable(message, MESSAGE_MAX), frames


def locate(
    frames: list[tuple[str, int]], candidates: Iterable[QueueEntry]
) -> list[tuple[QueueEntry, int]]:
    """The frames in a cell whose code is among `candidates` (whole, not
    cut), innermost first: each the cell's execution and the line."""
    named: list[tuple[int, int]] = []
    for file, line in frames:
        cell = _CELL_FILE.search(file)
        if cell is not None:
            named.append((int(cell["hash"]), line))
    wanted = {key for key, _ in named}
    found: dict[int, QueueEntry] = {}
    spent = 0
    for entry in candidates if wanted else ():
        if entry.code_truncated:
            continue
        spent += len(entry.code)
        if spent > HASH_BUDGET:
            break
        key = murmur2(entry.code.encode("utf-8", "surrogatepass"), CELL_HASH_SEED)
        if key in wanted and key not in found:
            found[key] = entry
            if len(found) == len(wanted):
                break
    return [(found[key], line) for key, line in named if key in found]


def code_line(code: str, line: int) -> str | None:
    """Line `line` (from 1) of a cell's code, stripped and capped."""
    if line < 1:
        return None
    lines = code.split("\n", line)
    if len(lines) < line:
        return None
    return printable(lines[line - 1].strip(), CODE_LINE_MAX)


def fault_of(
    text: str,
    exit_code: int | None,
    signal: int | None,
    running: QueueEntry | None,
    candidates: Iterable[QueueEntry],
) -> Fault | None:
    """How a process that ended with `exit_code` or `signal` (both None: not
    known) faulted, from its last words: None unless it died of a fault
    signal, or how it ended is not known and the fault handler spoke (a
    child's report in the text of a kernel that exited is not its fault).
    Without a frame in a known cell: the cell `running` when it died."""
    block = handler_block(text) if text else None
    if signal is not None:
        if signal not in FAULT_SIGNALS:
            return None
    elif exit_code is not None or block is None:
        return None
    name = signal_name(signal) or (HANDLER_SAYS.get(block[0]) if block else None)
    message = block[0] if block else (_described(signal) or (name or "fault"))
    where = locate(block[1], candidates) if block is not None else []
    if where:
        ran = _cell_line(*where[-1])
        inner = _cell_line(*where[0])
        return Fault(name, message, ran, inner if inner != ran else None)
    if running is not None:
        return Fault(name, message, CellLine(running.cell_id, running.execution_count))
    return Fault(name, message)


def _cell_line(entry: QueueEntry, line: int) -> CellLine:
    return CellLine(entry.cell_id, entry.execution_count, line, code_line(entry.code, line))


def _described(signal: int | None) -> str | None:
    try:
        return signals.strsignal(signal) if signal is not None else None
    except ValueError:
        return None


def around_the_fault(text: list[str], lines: int) -> list[str]:
    """The last `lines` lines; with a fault handler's report, the `lines`
    before it, its first line and the faulting thread's first frames."""
    fatal = next(
        (i for i in range(len(text) - 1, -1, -1) if text[i].startswith("Fatal Python error:")),
        None,
    )
    if fatal is None:
        return (["…"] if len(text) > lines else []) + text[-lines:]
    shown = (["…"] if fatal > lines else []) + text[max(0, fatal - lines) : fatal + 1]
    stack = next(
        (
            i
            for i in range(fatal + 1, len(text))
            if text[i].startswith(("Current thread ", "Stack (most recent call first)"))
        ),
        None,
    )
    if stack is not None:
        frames = text[stack : stack + 1 + lines]
        shown += (["…"] if stack > fatal + 1 else []) + frames
        if stack + 1 + lines < len(text):
            shown.append("…")
    return shown
