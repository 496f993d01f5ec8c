"""The agent tools' contract on its own (no server): each answer's schema
stands alone as MCP asks, arguments are shaped or refused without coercion,
a body is read within bounds, and a cell's first line is the one that says
what it does."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from jupyter_session_ext.api.agent_schemas import (
    INVALID_PARAMS,
    READ_TOOLS,
    TOOLS,
    ToolError,
    arguments,
)
from jupyter_session_ext.api.agent_text import said_last
from jupyter_session_ext.api.mcp_endpoint import shaped_body
from jupyter_session_ext.api.serialize_agents import first_line


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_each_answer_schema_stands_alone(name):
    schema = TOOLS[name].output_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    text = json.dumps(schema)
    assert "#/components/" not in text
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/$defs/')[1:]}:
        assert ref in schema["$defs"], ref
    Draft202012Validator.check_schema(TOOLS[name].input_schema(600))


def test_the_read_tools_are_all_but_interrupt():
    assert set(READ_TOOLS) == set(TOOLS) - {"interrupt_kernel"}


@pytest.mark.parametrize(
    "tool, given, shaped",
    [
        ("wait_for_idle", {"kernel": " k1 "}, {"kernel": "k1"}),
        (
            "wait_for_idle",
            {"kernel": "k", "timeout_seconds": 0},
            {"kernel": "k", "timeout_seconds": 0},
        ),
        (
            "wait_for_idle",
            {"kernel": "k", "timeout_seconds": 600},
            {"kernel": "k", "timeout_seconds": 600},
        ),
        (
            "wait_for_idle",
            {"kernel": "k", "timeout_seconds": 2.5},
            {"kernel": "k", "timeout_seconds": 2.5},
        ),
        ("kernel_history", {"kernel": "k", "limit": 5.0}, {"kernel": "k", "limit": 5}),
        ("list_kernels", None, {}),
        ("ended_kernels", {}, {}),
    ],
)
def test_arguments_taken(tool, given, shaped):
    assert arguments(TOOLS[tool], given, 600) == shaped


@pytest.mark.parametrize(
    "tool, given",
    [
        ("wait_for_idle", {}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": 600.5}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": -0.1}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": math.nan}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": math.inf}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": 10**400}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": "1"}),
        ("wait_for_idle", {"kernel": "k", "timeout_seconds": False}),
        ("kernel_status", {"kernel": None}),
        ("kernel_status", {"kernel": "   "}),
        ("kernel_status", {"kernel": "k" * 1001}),
        ("kernel_history", {"kernel": "k", "limit": 1001}),
        ("kernel_history", {"kernel": "k", "limit": True}),
        ("ended_kernels", {"limit": [1]}),
        ("memory_headroom", {"verbose": True}),
        ("list_kernels", "all"),
    ],
)
def test_arguments_refused(tool, given):
    with pytest.raises(ToolError) as refused:
        arguments(TOOLS[tool], given, 600)
    assert refused.value.code == INVALID_PARAMS and len(refused.value.message) < 300


@given(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.integers())
    )
)
def test_a_timeout_is_a_number_in_range_or_refused(value):
    try:
        shaped = arguments(TOOLS["wait_for_idle"], {"kernel": "k", "timeout_seconds": value}, 600)
    except ToolError:
        return
    seconds = shaped["timeout_seconds"]
    assert isinstance(seconds, float) and 0 <= seconds <= 600 and not isinstance(value, bool)


def test_a_body_is_written_again_as_plain_json():
    checked = shaped_body(
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": '
        b'"wait_for_idle", "arguments": {"kernel": "k", "timeout_seconds": NaN, "x": 1e999}}}'
    )
    assert checked.status == 200 and not checked.error and checked.events
    assert json.loads(checked.body)["params"]["arguments"] == {
        "kernel": "k",
        "timeout_seconds": None,
        "x": None,
    }
    listing = shaped_body(b'{"jsonrpc": "2.0", "id": "a", "method": "tools/list"}')
    assert listing.status == 200 and not listing.events


@pytest.mark.parametrize(
    "code, line",
    [
        ("import time\ntime.sleep(6)", "time.sleep(6)"),
        ("# train\nfrom x import y\n\n  model.fit(X)  \nmore()", "model.fit(X)"),
        ("%%time\nrun()", "run()"),
        ("import os", "import os"),
        ("# only a comment", "# only a comment"),
        ("", ""),
        ("x = '" + "a" * 300 + "'", "x = '" + "a" * 114 + "…"),
        (None, None),
    ],
)
def test_the_first_line_says_what_a_cell_does(code, line):
    assert first_line(code) == line


@pytest.mark.parametrize(
    "why, says",
    [
        ("hidden", "only who may execute code may read it"),
        ("remote", "a gateway"),
        ("not_captured", "KernelOutput.capture is off"),
    ],
)
def test_last_words_not_shown_say_why(why, says):
    words = {"text": None, "why_null": why, "truncated": False, "summary": None, "fault": None}
    assert says in "\n".join(said_last(words))


def test_last_words_show_what_came_before_the_fault_report():
    text = "\n".join(
        [*(f"line {i}" for i in range(30)), "Fatal Python error: Segmentation fault", ""]
        + ["Current thread 0x1 (most recent call first):"]
        + [f'  File "f{i}.py", line 1 in g' for i in range(40)]
    )
    words = {
        "text": text,
        "why_null": None,
        "truncated": False,
        "summary": "Segmentation fault in cell [2] (c), line 3: `x`",
        "fault": None,
    }
    said = said_last(words)
    assert said[0] == "Where it faulted: Segmentation fault in cell [2] (c), line 3: `x`."
    assert "    line 29" in said and "    line 17" not in said  # the 12 lines before it
    assert '    File "f0.py", line 1 in g' in [s.replace("      ", "    ") for s in said]
    assert all('"f39.py"' not in s for s in said)  # the interpreter's frames, left out
