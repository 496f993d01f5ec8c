"""How the fleet service shapes a user's server's answer, without a Hub:
nesting found without parsing, numbers in range or null, capped strings,
known sets. (tests/test_hub.py feeds the same through a real Hub.)"""

import json
import math
import random
import uuid

import pytest

from jupyter_session_ext.hub import answers
from jupyter_session_ext.hub.answers import InvalidAnswer
from jupyter_session_ext.hub.fleet import summarize
from jupyter_session_ext.untrusted import too_deep

KERNEL = str(uuid.uuid4())


def depth(value) -> int:
    """The reference: how deep a parsed document nests."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def random_document(rng: random.Random, level: int = 0):
    kind = rng.random()
    if level > 40 or kind < 0.3:
        return rng.choice([1, "a[b", "]}{", 'q"uo\\"te[', None, "\\", "{[]}"])
    if kind < 0.65:
        return [random_document(rng, level + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}[": random_document(rng, level + 1) for i in range(rng.randint(0, 3))}


def test_nesting_is_measured_like_the_parsed_document():
    rng = random.Random(7)
    for _ in range(500):
        document = random_document(rng)
        body = json.dumps(document).encode()
        actual = depth(document)
        for limit in (actual - 1, actual, actual + 1):
            if limit >= 0:
                assert too_deep(body, limit) == (actual > limit), (body, limit)


def test_flat_floods_are_refused_before_parsing():
    body = b'{"sessions": [' + b"[]," * 1_000_000 + b"[]]}"
    with pytest.raises(InvalidAnswer, match="more than 100,000 objects and lists"):
        answers.active_sessions(body)


def test_deep_nesting_is_refused_before_parsing():
    body = b'{"sessions": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(InvalidAnswer, match="nested deeper"):
        answers.active_sessions(body)


@pytest.mark.parametrize(
    "body, why",
    [
        (b"{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "not a list of sessions"),
        (b'{"sessions": {}}', "not a list of sessions"),
        (('{"sessions": [%s]}' % ("9" * 5000)).encode(), "not JSON"),
    ],
)
def test_answers_that_do_not_fit(body, why):
    with pytest.raises(InvalidAnswer, match=why):
        answers.active_sessions(body)


@pytest.mark.parametrize(
    "record, why",
    [
        (1, "not an object"),
        ({}, "not a UUID"),
        ({"session_id": "../x"}, "not a UUID"),
    ],
)
def test_a_record_that_does_not_fit_is_left_out_and_counted(record, why):
    """One bad record does not hide the server's other kernels."""
    body = json.dumps({"sessions": [record, {"session_id": KERNEL}, record]}).encode()
    shaped = answers.active_sessions(body)
    assert [s["session_id"] for s in shaped] == [KERNEL]
    assert shaped.skipped == 2 and why in shaped.why


def test_numbers_are_finite_in_range_or_null():
    body = (
        '{"sessions": [{"session_id": "%s", "idle_seconds": NaN, "busy_seconds": 1e999,'
        ' "connections": -1, "resource_usage": {"memory_bytes": true, "cpu_percent":'
        ' -Infinity}, "execution_queue": {"length": 2.5}}]}' % KERNEL
    ).encode()
    [s] = answers.active_sessions(body)
    assert s["idle_seconds"] is s["busy_seconds"] is s["connections"] is None
    assert s["resource_usage"] == {"memory_bytes": None, "cpu_percent": None}
    assert s["execution_queue"]["length"] == 2
    summary = summarize([s] * 3)
    assert all(math.isfinite(v) for v in (summary["memory_bytes"], summary["cpu_percent"]))
    json.dumps(summary, allow_nan=False)


def test_only_known_fields_capped_and_from_known_sets():
    raw = {
        "session_id": KERNEL.upper(),
        "status": "pwned",
        "display_name": "x" * 10_000,
        "initial_env": {"SECRET": "s"},
        "argv": ["python"],
        "session_mode": "root",
        "execution_queue": {
            "active": {"code": "y" * 10_000, "cell_id": "c"},
            "pending": [{"code": "z"}],
        },
        "last_exit": {
            "reason": "oom",
            "signal": 9,
            "ended": "2026-12-01T00:00:00Z",
            "memory_bytes": 2**60,
            "limit_bytes": "2 GB",
        },
    }
    [s] = answers.active_sessions(json.dumps({"sessions": [raw]}).encode())
    assert set(s) == {
        "session_id",
        "status",
        "display_name",
        "kernel_name",
        "notebook_path",
        "session_mode",
        "busy_seconds",
        "idle_seconds",
        "connections",
        "resource_usage",
        "execution_queue",
        "last_exit",
    }
    assert s["session_id"] == KERNEL
    assert s["status"] == "unknown" and s["session_mode"] == "background"
    assert len(s["display_name"]) == answers.NAME
    assert s["execution_queue"]["active"] == {"code": "y" * (answers.CODE - 1) + "…"}
    assert s["last_exit"] == {
        "reason": "oom",
        "signal": 9,
        "exit_code": None,
        "ended": "2026-12-01T00:00:00Z",
        "memory_bytes": None,  # past 2**53: not a figure
        "limit_bytes": None,  # not a number
        "fault": None,
    }
    [e] = answers.ended_sessions(
        json.dumps(
            {"sessions": [{"session_id": KERNEL, "reason": "x" * 100, "forced": "yes"}]}
        ).encode()
    )
    assert e["reason"] == "other" and e["forced"] is False


def test_of_last_words_only_the_fault_line_is_kept_shaped():
    words = {
        "text": "API_TOKEN=s3cret\nFatal Python error: Segmentation fault",
        "summary": "Segmentation fault in cell [2] (c), line 3: `f(\x1b[2J)`" + "!" * 9000,
        "fault": {"signal": "SIGSEGV", "cell_id": "c"},
    }
    [e] = answers.ended_sessions(
        json.dumps(
            {"sessions": [{"session_id": KERNEL, "reason": "failed_to_start", "last_words": words}]}
        ).encode()
    )
    assert e["reason"] == "failed_to_start"
    assert e["fault"].startswith("Segmentation fault in cell [2] (c), line 3: `f(\\x1b[2J)`")
    assert e["fault"].isprintable() and len(e["fault"]) == answers.CODE
    assert "s3cret" not in json.dumps(e) and "text" not in json.dumps(e)
    [s] = answers.active_sessions(
        json.dumps(
            {"sessions": [{"session_id": KERNEL, "last_exit": {"last_words": {"summary": 3}}}]}
        ).encode()
    )
    assert s["last_exit"]["fault"] is None


@pytest.mark.parametrize(
    "memory, shaped",
    [
        (
            {
                "limit_bytes": 2_000_000_000,
                "used_bytes": 1_900_000_000,
                "source": "cgroup",
                "warning": True,
            },
            {
                "limit_bytes": 2_000_000_000,
                "used_bytes": 1_900_000_000,
                "source": "cgroup",
                "warning": True,
            },
        ),
        (
            {"limit_bytes": -1, "used_bytes": float("inf"), "source": "<b>", "warning": "yes"},
            {"limit_bytes": None, "used_bytes": None, "source": "unknown", "warning": False},
        ),
        ("lots", None),
    ],
)
def test_a_servers_memory_status_is_shaped(memory, shaped):
    body = json.dumps({"sessions": 1, "memory": memory}).replace("Infinity", "1e999").encode()
    assert answers.memory_status(body) == shaped
    with pytest.raises(answers.InvalidAnswer):
        answers.memory_status(b"[1, 2]")


def test_summaries_count_oom_kills_apart_and_carry_the_limit():
    from jupyter_session_ext.hub.fleet import per_user, summarize

    session = {
        "status": "idle",
        "resource_usage": {"memory_bytes": 100, "cpu_percent": 1.0},
        "idle_seconds": 5,
        "last_exit": {"reason": "oom"},
    }
    killed = {**session, "last_exit": {"reason": "killed"}}
    summary = summarize(
        [session, killed],
        [{"reason": "oom"}, {"reason": "shutdown"}],
        {"limit_bytes": 1000, "used_bytes": 950, "source": "cgroup", "warning": True},
    )
    assert (summary["oom"], summary["killed"]) == (2, 1)
    assert (summary["memory_used_bytes"], summary["memory_limit_bytes"]) == (950, 1000)
    assert summary["memory_warning"] is True
    users = per_user(
        [
            {"user": "ann", "reachable": True, "summary": summary},
            {"user": "ann", "reachable": True, "summary": summarize([session], [], None)},
        ]
    )
    assert (users[0]["oom"], users[0]["memory_used_bytes"], users[0]["memory_limit_bytes"]) == (
        3,
        950,
        1000,
    )


def test_lists_are_capped():
    many = [{"session_id": str(uuid.uuid4())} for _ in range(answers.MAX_SESSIONS + 5)]
    assert (
        len(answers.active_sessions(json.dumps({"sessions": many}).encode()))
        == answers.MAX_SESSIONS
    )


@pytest.mark.parametrize(
    "value, shown",
    [
        ("plain", "plain"),
        ("a\nb", "a\\nb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("x" * 300, "x" * 200 + "…"),
    ],
)
def test_log_lines_are_printable(value, shown):
    assert answers.printable(value) == shown


def test_the_list_with_what_the_ended_and_status_routes_answer():
    """One request per server (`?include=ended,status`); a server whose
    extension predates `include` answers the list alone (None: ask the two
    routes), and a hostile server's parts are shaped or refused like theirs."""
    sessions = [{"session_id": KERNEL, "status": "busy"}]
    ended = {"sessions": [{"session_id": KERNEL, "reason": "oom", "signal": 9}]}
    status = {"memory": {"limit_bytes": 10, "used_bytes": 5, "source": "env", "warning": 1}}
    both = {"sessions": sessions, "ended": ended, "status": status}
    got, more = answers.sessions_and_more(json.dumps(both).encode())
    assert [s["status"] for s in got] == ["busy"]
    shaped_ended, memory = more
    assert [(e["reason"], e["signal"]) for e in shaped_ended] == [("oom", 9)]
    assert memory == {"limit_bytes": 10, "used_bytes": 5, "source": "env", "warning": False}
    assert answers.sessions_and_more(json.dumps({"sessions": sessions}).encode())[1] is None
    for hostile, why in (
        ({**both, "ended": {"sessions": "many"}}, "not a list of sessions"),
        ({**both, "ended": []}, "not a list of sessions"),
        ({**both, "status": [1, 2]}, "not an object"),
    ):
        with pytest.raises(InvalidAnswer, match=why):
            answers.sessions_and_more(json.dumps(hostile).encode())
    [_], (_, no_memory) = answers.sessions_and_more(json.dumps({**both, "status": {}}).encode())
    assert no_memory is None
