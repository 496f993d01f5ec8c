"""Every shaper of what comes from outside, fuzzed (Hypothesis) and timed.

For each boundary (untrusted/, the fleet's answers, a PATCH body, a stored
row, the state machine fed a kernel's messages): generated hostile input
(deep, wide, huge, unterminated, NaN and Infinity, dates of year 1 and 9999,
control and format characters, wrong types) never raises anything but the
shaper's own refusal, and what it gives is strict JSON with its caps. Then
the time per byte must not grow with the size: 4x the input in at most 6x
the time, the fastest of runs side by side in one run (a ratio, so a busy
machine slows both alike), at sizes of tens of KB: large enough that a
quadratic scanner shows (16x), small enough that neither size needs fresh
pages from the system, whose cost would show as a ratio of its own.

`make test` runs the "ci" profile (a bounded number of examples); `make
fuzz` the "fuzz" one (HYPOTHESIS_PROFILE=fuzz, many more). A defect the
fuzzer finds stays as an `@example`. docs/developers/testing.md says how to
add a boundary.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jupyter_session_ext import untrusted
from jupyter_session_ext.api import serialize, validation
from jupyter_session_ext.hub import answers
from jupyter_session_ext.state.ended import ended_record
from jupyter_session_ext.state.kernel_state import KernelState
from jupyter_session_ext.state.last_words import fault_of
from jupyter_session_ext.state.record import ProcessSnapshot, TrackedKernel
from jupyter_session_ext.store import rows
from jupyter_session_ext.store.batch import Batch, Limits, Server
from jupyter_session_ext.store.database import Database


def strict(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


# -- strategies of hostile things -----------------------------------------------------

JSON_PUNCTUATION = '[]{}",:\\ntrue-0123456789.eE+ aNIfy/u\x00\x1f\u2028\u202e'
hostile_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=JSON_PUNCTUATION, max_size=400),
    st.sampled_from(["", "%s", "%(x)s", "\x1b[31m", "\u202egnp.exe", "\ud800", "9" * 5000]),
)
dates_text = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59.999999",
            "1969-12-31T23:59:59Z",
            "2200-01-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-12-06T05:22:15.123456+00:00",
            "2026-12-06",
            "nan",
        ]
    ),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    ).map(lambda d: d.isoformat()),
    hostile_text,
)
hostile_dates = st.one_of(
    dates_text,
    st.datetimes(timezones=st.none() | st.timezones()),
    st.just(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5)))),
    st.just(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    dates_text,
)
hostile_json = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(hostile_text, inner, max_size=6),
    max_leaves=40,
)
hostile_python = st.recursive(
    leaves | st.binary(max_size=20) | hostile_dates,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(st.one_of(hostile_text, st.integers(), st.none()), inner, max_size=5)
    ),
    max_leaves=40,
)


def hostile_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2000),
        st.text(alphabet=JSON_PUNCTUATION, max_size=2000).map(
            lambda t: t.encode("utf-8", "replace")
        ),
        hostile_json.map(lambda v: json.dumps(v).encode()),
        st.integers(0, 3000).map(lambda n: b'"' + b'\\"' * n),
        st.integers(0, 3000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(0, 3000).map(lambda n: b"[" * n),
    )


# -- timing: 4x the size, at most 6x the time -----------------------------------------


# 4x the input in at most this many times the time: linear is 4, a
# quadratic shaper 16.
LINEAR_BOUND = 6


def ratio_4x(name: str, shape: Callable[[Any], Any], make: Callable[[int], Any], n: int) -> float:
    """time(make(4n)) / time(make(n)), the fastest of runs side by side; the
    lowest of up to three such measures. The thread's CPU time, not the
    clock's: on a loaded machine a run longer than a time slice is
    preempted, and the clock then counted the other processes' turns in the
    large input's time only (6.4 under two CPU hogs for what is 4.1 on a
    quiet machine). Three tries, because a neighbour sharing the core's
    caches still slows one size more than the other now and then (6.4 once
    in CI for what is at most 4.2 in 40 tries here); a quadratic shaper is
    16x at every try."""
    small, large = make(n), make(4 * n)
    ratios = []
    for _ in range(3):
        times: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(25):
            for which, value in (("small", small), ("large", large)):
                start = time.thread_time()
                try:
                    shape(value)
                except untrusted.Refused:
                    pass
                times[which].append(time.thread_time() - start)
        fastest = {which: min(runs) for which, runs in times.items()}
        ratios.append(fastest["large"] / max(fastest["small"], 1e-7))
        if ratios[-1] <= LINEAR_BOUND:
            break
    size = len(large) if isinstance(large, (bytes, str, list)) else 4 * n
    shown = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"\n{name}: {size:,} in {fastest['large']:.4f} s; 4x ratio {shown}")
    return min(ratios)


def loads_any(body: bytes) -> Any:
    """With the fleet's caps: past 100,000 objects and lists a document is
    refused unparsed (parsing that many costs more per container as they
    grow, the garbage collector's work included)."""
    return untrusted.loads(
        body, max_bytes=2**30, max_depth=answers.MAX_DEPTH, max_containers=answers.MAX_CONTAINERS
    )


TIMED: dict[str, tuple[Callable[[Any], Any], Callable[[int], Any], int]] = {
    'loads, a string of \\" that never closes': (
        loads_any,
        lambda n: b'{"a": "' + b'\\"' * n,
        2**12,
    ),
    "loads, a string of \\ then a quote, never closing": (
        loads_any,
        lambda n: b'"' + b"\\\\" * n + b"\\",
        2**12,
    ),
    "loads, deep nesting": (loads_any, lambda n: b"[" * n + b"]" * n, 2**12),
    "loads, a flood of empty lists": (loads_any, lambda n: b"[" + b"[]," * n + b"[]]", 2**11),
    "loads, quotes alone": (loads_any, lambda n: b'"' * n, 2**13),
    "structure, closed strings between brackets": (
        lambda b: untrusted.structure(b, 32),
        lambda n: b'["ab\\"c", {"d": "e\\\\"}],' * n,
        2**9,
    ),
    "PATCH body (validation.session_patch)": (
        validation.session_patch,
        lambda n: b'{"display_name": "' + b'\\"' * n,
        2**11,
    ),
    "fleet answer (answers.active_sessions), many sessions": (
        answers.active_sessions,
        lambda n: json.dumps(
            {"sessions": [{"session_id": f"{i:08x}-0000-0000-0000-000000000000"} for i in range(n)]}
        ).encode(),
        200,
    ),
    "fleet answer, a never-closing string": (
        answers.active_sessions,
        lambda n: b'{"sessions": [{"display_name": "' + b'\\"' * n,
        2**12,
    ),
    "date, long text": (untrusted.date, lambda n: "2026-" * n, 2**11),
    "text, capped": (lambda v: untrusted.text(v, 200), lambda n: "x" * n, 2**13),
    "printable, control characters": (untrusted.printable, lambda n: "\x1b\n" * n, 2**12),
    "printable_lines, control characters and lines": (
        lambda v: untrusted.printable_lines(v, 2**30),
        lambda n: "\x1b\n\t\r" * n,
        2**12,
    ),
    "last words, a fault report of many cell frames": (
        lambda t: fault_of(t, None, 11, None, []),
        lambda n: (
            "Fatal Python error: Segmentation fault\n\nStack (most recent call first):\n"
            + '  File "/tmp/ipykernel_1/123.py", line 1 in f\n' * n
        ),
        2**10,
    ),
    "last words, many reports and no frame": (
        lambda t: fault_of(t, None, 11, None, []),
        lambda n: "Fatal Python error: \n" * n,
        2**12,
    ),
    "json_value, wide": (untrusted.json_value, lambda n: list(range(n)), 2**10),
    "json_value, long strings": (
        untrusted.json_value,
        lambda n: {"banner": "B" * n, "x": ["y" * n] * 4},
        2**14,  # both sizes beyond the 8 KB a string keeps, so both are cut
    ),
    "message, an overlong msg_id": (
        untrusted.message,
        lambda n: {"header": {"msg_id": "m" * n, "msg_type": "status"}, "content": {}},
        2**13,
    ),
    "stored row (rows.execution)": (rows.execution, lambda n: '{"code": "' + "c" * n + '"}', 2**13),
}


@pytest.mark.parametrize("name", list(TIMED))
def test_time_grows_linearly_with_the_size(name):
    shape, make, n = TIMED[name]
    assert ratio_4x(name, shape, make, n) <= LINEAR_BOUND


def test_the_kernel_state_machine_reads_a_long_cell_in_linear_time():
    def feed(code: str) -> None:
        state = KernelState(code_preview_length=1000)
        state.on_launch()
        parent = {"msg_id": "m", "msg_type": "execute_request"}
        state.on_iopub(
            {
                "header": {"msg_type": "execute_input"},
                "parent_header": parent,
                "content": {"code": code, "execution_count": 1},
            }
        )

    ratio = ratio_4x("KernelState, a long execute_input", feed, lambda n: "x" * n, 2**13)
    assert ratio <= LINEAR_BOUND


# -- properties ------------------------------------------------------------------------


@given(hostile_bytes())
@example(b'"' + b'\\"' * 100)
@example(b'{"a": "\\')
@example(b"\xff\xfe")
@example(b"NaN")
@example(b'[{"a": "]"}]]')
@example(b"[[]")
def test_loads_refuses_or_parses(body):
    try:
        value = untrusted.loads(body, max_bytes=4096, max_depth=8, max_containers=100)
    except untrusted.Refused as err:
        untrusted.printable(err)
        if "do not pair" in str(err):  # refused unparsed: so no JSON at all
            with pytest.raises((ValueError, RecursionError)):
                json.loads(body)
        return
    assert len(body) <= 4096
    json.dumps(value)  # (NaN read as null; non-finite floats beyond are inf: see number())


@given(hostile_bytes(), st.integers(0, 40))
def test_structure_never_under_counts_depth(body, limit):
    depth, containers = untrusted.structure(body, limit)
    assert 0 <= depth <= limit + 1 and containers >= 0
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return

    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level + 1)
            stack.extend(
                (x, level + 1) for x in (item.values() if isinstance(item, dict) else item)
            )
    assert depth == min(deepest, limit + 1)


@given(hostile_dates)
@example("9999-12-31T23:59:59-05:00")
@example("0001-01-01T00:00:00+05:00")
@example(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))))
def test_dates_are_utc_between_1970_and_2200_or_none(value):
    shaped = untrusted.date(value)
    if shaped is None:
        return
    assert shaped.tzinfo is timezone.utc
    assert untrusted.EARLIEST <= shaped < untrusted.LATEST
    shaped.isoformat()
    shaped + timedelta(days=365 * 100)  # room for any sum we make


@given(hostile_python, st.floats(allow_nan=False), st.floats(allow_nan=False))
@example(0.7, 0.5, 1.0)  # found: cut to its whole part, 0.7 fell out of [0.5, 1]
@example(10**400, -math.inf, math.inf)
def test_numbers_are_finite_and_in_range_or_none(value, low, high):
    for shaped in (untrusted.number(value, low, high), untrusted.whole(value, low, high)):
        assert shaped is None or (math.isfinite(shaped) and low <= shaped <= high)
    shaped_int = untrusted.integer(value, -100, 100)
    assert shaped_int is None or (type(shaped_int) is int and -100 <= shaped_int <= 100)


@given(hostile_python, st.integers(1, 500))
@example("cell-\ud800", 100)  # found by the store's tests: SQLite refused it
def test_text_is_a_capped_string_or_none(value, limit):
    shaped = untrusted.text(value, limit)
    assert shaped is None or (isinstance(shaped, str) and len(shaped) <= limit)
    if shaped is not None:
        shaped.encode("utf-8")
    if value == "cell-\ud800":
        assert shaped == "cell-\ufffd"


@given(hostile_python, st.integers(1, 10), st.integers(1, 5000))
def test_json_value_is_strict_json_within_its_caps(value, depth, size):
    shaped = untrusted.json_value(value, depth=depth, size=size, string=100)
    text = strict(shaped)

    def measure(v: Any, level: int) -> int:
        assert level <= depth
        if isinstance(v, str):
            assert len(v) <= 100
            return 1 + len(v)
        if isinstance(v, list):
            return 1 + sum(measure(x, level + 1) for x in v)
        if isinstance(v, dict):
            return 1 + sum(len(k) + measure(x, level + 1) for k, x in v.items())
        assert v is None or isinstance(v, (bool, int, float))
        return 1

    # The budget is spent before each value is added: at most one value
    # (a key and a capped string) beyond it.
    assert measure(shaped, 0) <= size + 400, len(text)


@given(hostile_python)
@example({"header": [1], "parent_header": "x", "content": [1, 2]})
@example({"header": {"msg_id": 5, "msg_type": "status", "date": "9999-12-31T23:59:59-05:00"}})
def test_a_message_of_anything_has_typed_fields(raw):
    msg = untrusted.message(raw)
    assert untrusted.message(msg) is msg
    for header in (msg.header, msg.parent):
        for value in (header.msg_id, header.msg_type, header.session, header.username):
            assert value is None or (isinstance(value, str) and len(value) <= 256 + 7)
        assert header.date is None or untrusted.EARLIEST <= header.date < untrusted.LATEST
    assert isinstance(msg.content, dict) and isinstance(msg.metadata, dict)
    assert msg.channel is None or isinstance(msg.channel, str)


@given(hostile_python)
def test_printable_is_one_escaped_line(value):
    line = untrusted.printable(value, 100)
    assert line.isprintable() and len(line) <= 101 * 10


@given(hostile_text, st.integers(1, 500))
def test_printable_lines_keeps_only_its_layout_unescaped(value, limit):
    shown = untrusted.printable_lines(value, limit)
    assert all(c.isprintable() or c in "\n\t" for c in shown)
    assert shown.count("\n") <= value.count("\n")
    # The same text as escaping it a character at a time.
    cut = value if len(value) <= limit else "…" + value[len(value) - limit + 1 :]
    assert shown == "".join(
        c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode("ascii")
        for c in cut
    )


def test_a_log_limiter_says_a_cause_once_per_interval(caplog):
    now = [0.0]
    limiter = untrusted.LogLimiter(interval=60, clock=lambda: now[0])
    for i in range(1000):
        now[0] = i * 0.1  # 100 s
        limiter.warning("cause", "bad %s", untrusted.printable("x\n%s"))
        limiter.warning("other", "also bad")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and "x\\n%s" in lines[0]
    assert "599 more like it" in lines[2]


@given(hostile_json, hostile_json)
@example({"sessions": [1, {}, {"session_id": "../x"}]}, {})
@example(
    {
        "sessions": [
            {
                "session_id": "00000000-0000-0000-0000-000000000000",
                "last_exit": {"ended": "9999-12-31T23:59:59-05:00"},
            }
        ]
    },
    {},
)
def test_a_fleet_answer_is_shaped_records_or_invalid(sessions, ended):
    for document in (sessions, {"sessions": [sessions]}, {**_as_dict(sessions), "ended": ended}):
        body = json.dumps(document).encode()
        for shape in (answers.active_sessions, answers.ended_sessions, answers.sessions_and_more):
            try:
                strict(shape(body))
            except answers.InvalidAnswer:
                pass


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"sessions": value}


@given(hostile_bytes())
@example(b'{"display_name": "' + b'\\"' * 100)
def test_a_patch_body_is_known_changes_or_a_400(body):
    try:
        changes = validation.session_patch(body)
    except validation.BadRequest as err:
        untrusted.printable(err)
        return
    assert set(changes) <= set(validation.PATCHABLE_FIELDS)


@given(st.one_of(hostile_json.map(json.dumps), hostile_text, hostile_python))
def test_a_stored_row_is_a_record_or_refused(text):
    for read in (rows.execution, rows.ended):
        try:
            record = read(text)
        except rows.BadRow:
            continue
        if read is rows.execution:
            strict(serialize.finished_execution(record))
        else:
            strict(serialize.ended_kernel(record[0], "/tmp"))


# -- the state machine, fed anything a kernel or a client may send -------------------

MSG_IDS = st.sampled_from(["a", "b", "c", "", None, 5, "x" * 300])
STATES = st.sampled_from(["busy", "idle", "starting", "dead", None, 7])


def header(msg_type: Any) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {
                "msg_id": MSG_IDS,
                "msg_type": st.just(msg_type) | hostile_text,
                "session": hostile_text | st.none(),
                "username": hostile_text | st.none(),
                "date": hostile_dates,
            }
        ),
        hostile_python,
    )


def kernel_message() -> st.SearchStrategy[tuple[str, Any]]:
    content = st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "execution_state": STATES,
                "code": hostile_text | hostile_python,
                "execution_count": st.integers() | hostile_python,
                "ename": hostile_text | hostile_python,
                "status": st.sampled_from(["ok", "error", "aborted", "weird"]) | hostile_python,
                "prompt": hostile_text | hostile_python,
                "password": hostile_python,
            },
        ),
        hostile_python,
    )
    kinds = st.sampled_from(
        ["status", "execute_input", "error", "execute_request", "execute_reply", "input_request"]
    )
    return kinds.flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.fixed_dictionaries(
                {
                    "header": header(kind),
                    "parent_header": header("execute_request"),
                    "content": content,
                    "metadata": st.dictionaries(st.just("cellId"), hostile_text | hostile_python),
                }
            )
            | hostile_python,
        )
    )


class Source:
    """What the encoder asks of the registry beyond the record (plain answers)."""

    def connections(self, kernel_id: str) -> int:
        return 0

    def prompts_for(self, tracked: TrackedKernel) -> tuple[str, str]:
        return ">>> ", "... "

    def culling_info(self, tracked: TrackedKernel) -> None:
        return None


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    database = Database(Path(tmp_path_factory.mktemp("fuzz-store")) / "active_sessions.db")
    database.open()
    database.register(Server("fuzz", "localhost", 1, None))
    yield database
    database.close()


@given(st.lists(kernel_message(), max_size=25))
def test_any_sequence_of_kernel_messages_leaves_answers_strict_and_storable(store, messages):
    state = KernelState(history_length=20)
    tracked = TrackedKernel("k", state)
    now = datetime.now(timezone.utc)
    tracked.on_launch(ProcessSnapshot(1, ["python"], "me", now, "/", {}), "/", tracked.spec)
    state.on_kernel_info_reply({"status": "ok"})
    feed = {
        "status": state.on_iopub,
        "execute_input": state.on_iopub,
        "error": state.on_iopub,
        "execute_request": state.on_execute_request,
        "execute_reply": state.on_execute_reply,
        "input_request": state.on_input_request,
    }
    for kind, msg in messages:
        feed[kind](msg)
        strict(serialize.active_session(Source(), tracked, "/tmp"))
    batch = Batch()
    for number, finished in enumerate(state.history.executions(), 1):
        strict(serialize.finished_execution(finished))
        batch.executions.append(("k", number, rows.execution_row(finished)))
        rows.execution(batch.executions[-1][2])  # and it reads back
    record = ended_record(tracked, "exited")
    assert record is not None
    batch.ended.append(("k", record.ended.timestamp(), rows.ended_row(record)))
    strict(serialize.ended_kernel(record, "/tmp"))
    store.write("fuzz", batch, Limits())
