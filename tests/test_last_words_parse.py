"""Reading a process's last words, without a server: ipykernel's cell file
names (MurmurHash2), a real fault handler's report, the cell and line it
names, what is a fault and what is not; what the store reads back."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from ipykernel.compiler import murmur2_x86

from jupyter_session_ext import untrusted
from jupyter_session_ext.state.last_words import (
    CELL_HASH_SEED,
    HASH_BUDGET,
    CellLine,
    Fault,
    LastWords,
    fault_of,
    handler_block,
)
from jupyter_session_ext.state.queue import QueueEntry, murmur2, source_hash
from jupyter_session_ext.store import rows


@given(st.text())
def test_murmur2_is_ipykernels(code):
    assert murmur2(code.encode(), CELL_HASH_SEED) == murmur2_x86(code, CELL_HASH_SEED)
    assert source_hash(code) == str(murmur2_x86(code, 0))


CELL = "import ctypes\ndef f():\n    return ctypes.string_at(0)  # here\nf()\n"


def crashed_as_a_cell(tmp_path: Path, code: str = CELL) -> tuple[str, int]:
    """Run `code` from a file named as ipykernel names a cell's, with the
    fault handler on: what it wrote to stderr, and its return code."""
    cell_dir = tmp_path / "ipykernel_4242"
    cell_dir.mkdir()
    cell = cell_dir / f"{murmur2(code.encode(), CELL_HASH_SEED)}.py"
    cell.write_text(code)
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", str(cell)], capture_output=True, text=True
    )
    return done.stderr, done.returncode


def entry(code: str, cell_id: str, count: int, truncated: bool = False) -> QueueEntry:
    return QueueEntry("m-" + cell_id, code, truncated, cell_id, execution_count=count)


def test_a_real_fault_handler_report_names_the_cell_and_the_line(tmp_path):
    text, code = crashed_as_a_cell(tmp_path)
    assert code == -signal.SIGSEGV
    message, frames = handler_block(text)
    assert message == "Segmentation fault" and frames
    cells = [entry("x = 1", "other", 4), entry(CELL, "c-crash", 5)]
    fault = fault_of(text, None, signal.SIGSEGV, None, cells)
    # The cell's line that ran, and inside it the function's, defined there.
    inner = CellLine("c-crash", 5, 3, "return ctypes.string_at(0)  # here")
    assert fault == Fault("SIGSEGV", "Segmentation fault", CellLine("c-crash", 5, 4, "f()"), inner)
    assert fault.summary() == (
        "Segmentation fault in cell [5] (c-crash), line 4: `f()`, inside cell [5] (c-crash),"
        " line 3: `return ctypes.string_at(0)  # here`"
    )
    assert fault.summary(reveal=False) == (
        "Segmentation fault in cell [5] (c-crash), line 4, inside cell [5] (c-crash), line 3"
    )


def test_a_function_of_an_earlier_cell_is_inside_the_cell_run(tmp_path):
    defines = "import ctypes\n\ndef run(x):\n    return ctypes.string_at(x)\n"
    runs = "data = 0\nrun(data)\n"
    cell_dir = tmp_path / "ipykernel_4242"
    cell_dir.mkdir()
    for code in (defines, runs):
        (cell_dir / f"{murmur2(code.encode(), CELL_HASH_SEED)}.py").write_text(code)
    # The second cell, run after the first, as the kernel runs them.
    first = cell_dir / f"{murmur2(defines.encode(), CELL_HASH_SEED)}.py"
    second = cell_dir / f"{murmur2(runs.encode(), CELL_HASH_SEED)}.py"
    script = f"exec(compile(open({str(first)!r}).read(), {str(first)!r}, 'exec'))\n"
    script += f"exec(compile(open({str(second)!r}).read(), {str(second)!r}, 'exec'))\n"
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", script], capture_output=True, text=True
    )
    cells = [entry(runs, "c-run", 3), entry("x = 2", "c-x", 2), entry(defines, "c-def", 1)]
    fault = fault_of(done.stderr, None, -done.returncode, None, cells)
    assert fault.cell == CellLine("c-run", 3, 2, "run(data)")
    assert fault.inner == CellLine("c-def", 1, 4, "return ctypes.string_at(x)")
    assert fault.summary() == (
        "Segmentation fault in cell [3] (c-run), line 2: `run(data)`,"
        " inside cell [1] (c-def), line 4: `return ctypes.string_at(x)`"
    )


def test_a_cell_cut_or_unknown_is_not_guessed(tmp_path):
    text, _ = crashed_as_a_cell(tmp_path)
    running = entry("f()", "c-running", 7)
    for cells in ([entry(CELL, "c-crash", 5, truncated=True)], [entry("y = 2", "c-y", 6)], []):
        fault = fault_of(text, None, signal.SIGSEGV, running, cells)
        # Not found in the cells kept: the one running when it died, no line.
        assert (fault.cell, fault.inner) == (CellLine("c-running", 7), None)
        assert fault.summary() == "Segmentation fault while running cell [7] (c-running)"


def test_hashing_stops_at_its_budget(tmp_path):
    text, _ = crashed_as_a_cell(tmp_path)
    huge = [entry("#" * (HASH_BUDGET // 2) + str(i), f"big-{i}", i) for i in range(3)]
    fault = fault_of(text, None, signal.SIGSEGV, None, [*huge, entry(CELL, "c-crash", 9)])
    assert fault.cell is None and fault.summary() == "Segmentation fault"


def test_what_is_not_a_fault():
    report = (
        "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n"
    )
    # A child's report in the text of a kernel that exited with a code.
    assert fault_of(report, 0, None, None, []) is None
    # Killed, terminated: not a fault, whatever the text says.
    assert fault_of(report, None, signal.SIGKILL, None, []) is None
    assert fault_of(report, None, signal.SIGTERM, None, []) is None
    # A fault signal without the handler (off, or not Python): the signal's words.
    assert fault_of("", None, signal.SIGSEGV, None, []) == Fault("SIGSEGV", "Segmentation fault")
    assert fault_of("", None, signal.SIGABRT, None, []).signal == "SIGABRT"
    # How it ended unknown: the handler's word for it.
    assert fault_of(report, None, None, None, []) == Fault("SIGSEGV", "Segmentation fault")


def test_the_handlers_words_are_escaped_and_capped():
    said = "Fatal Python error: \x1b[31mboom\u202e" + "!" * 500 + "\n"
    message, frames = handler_block(said)
    assert message.isprintable() and len(message) <= 10 * 201 and frames == []


def test_printable_lines_keeps_lines_escapes_the_rest():
    shown = untrusted.printable_lines("a\tb\r\n\x1b[2Jc\u202ed\n", 1000)
    assert shown == "a\tb\\r\n\\x1b[2Jc\\u202ed\n"
    assert untrusted.printable_lines("0123456789", 5) == "…6789"


def test_stored_last_words_are_read_back_shaped():
    cell = CellLine("c", 2, 3, "f()")
    words = LastWords("out\n\\x1b", True, Fault("SIGSEGV", "Segmentation fault", cell, cell))
    raw = rows._object(rows.dumps({"last_words": rows.words_row(words)}))
    assert rows.last_words(raw["last_words"]) == words
    assert rows.last_words(None) is None
    hostile = {"text": "\x1b]0;owned\x07\n", "truncated": False, "why_null": None, "fault": None}
    assert rows.last_words(hostile).text == "\\x1b]0;owned\\x07\n"
    for bad in ("text", {"text": 3}, {"text": None, "why_null": "because"}, {"fault": []}):
        try:
            rows.last_words(bad)
        except rows.BadRow:
            continue
        raise AssertionError(f"{bad!r} was read back")


class Ends:
    """What a process says of its end (lifecycle/channels.py, here fixed)."""

    def __init__(self, status, text):
        self.status, self.text = status, text

    def exit_status(self):
        return self.status

    def last_words(self, exit_code, signal, running, candidates):
        return LastWords(self.text)


def test_a_process_that_ended_before_it_answered_failed_to_start():
    from datetime import datetime, timezone

    from jupyter_session_ext.state.kernel_state import KernelState
    from jupyter_session_ext.state.record import ProcessSnapshot, TrackedKernel

    tracked = TrackedKernel("k", KernelState())
    now = datetime.now(timezone.utc)
    for pid, answered in ((1, False), (2, True), (3, None)):
        status = (3, None) if pid == 1 else (None, signal.SIGSEGV)
        tracked.on_launch(
            ProcessSnapshot(pid, [], "me", now, "/", {}), "/", tracked.spec, Ends(status, f"p{pid}")
        )
        if answered:
            tracked.ready.set()
        # jupyter_client's restarter found it dead and starts another.
        tracked.note_end(auto_restart=True)
        if pid == 2:
            first = tracked.last_exit
    assert (first.reason, first.exit_code, first.last_words.text) == ("failed_to_start", 3, "p1")
    second = tracked.last_exit
    assert (second.reason, second.signal, second.last_words.text) == ("killed", 11, "p2")


def test_a_process_that_served_a_client_but_not_us_did_start():
    """A client's request answered (its busy and idle on IOPub), then a cell
    crashes the kernel while our own kernel_info waits behind it: the kernel
    was killed, it did not fail to start (as JupyterLab 4.0 and Notebook 7.0
    sometimes were told)."""
    from datetime import datetime, timezone

    from jupyter_session_ext.state.kernel_state import KernelState
    from jupyter_session_ext.state.record import ProcessSnapshot, TrackedKernel

    tracked = TrackedKernel("k", KernelState())
    now = datetime.now(timezone.utc)
    tracked.on_launch(
        ProcessSnapshot(1, [], "me", now, "/", {}), "/", tracked.spec, Ends((None, 11), "p1")
    )
    for state in ("busy", "idle"):
        tracked.state.on_iopub(
            {
                "header": {"msg_type": "status", "msg_id": state},
                "parent_header": {"msg_id": "c", "msg_type": "kernel_info_request"},
                "content": {"execution_state": state},
            }
        )
    assert not tracked.ready.is_set() and not tracked.state.kernel_info
    tracked.note_end(auto_restart=True)
    tracked.on_launch(
        ProcessSnapshot(2, [], "me", now, "/", {}), "/", tracked.spec, Ends(None, "p2")
    )
    assert (tracked.last_exit.reason, tracked.last_exit.signal) == ("killed", 11)
