"""PATCH bodies: what is accepted and what is refused, without a server."""

import json

import pytest

from jupyter_session_ext.api.validation import BadRequest, session_patch


def test_accepts_known_fields_and_null():
    body = json.dumps(
        {"display_name": "GPU run", "input_prompt": "In: ", "continuation_prompt": None}
    ).encode()
    assert session_patch(body) == {
        "display_name": "GPU run",
        "input_prompt": "In: ",
        "continuation_prompt": None,
    }


def test_julia_continuation_prompt_of_spaces_is_fine():
    assert session_patch(b'{"continuation_prompt": "       "}') == {
        "continuation_prompt": "       "
    }


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{", "not valid JSON"),
        (b"\xff", "not valid JSON"),
        (b"[1]", "JSON object"),
        (b"{}", "empty"),
        (b'{"argv": []}', "argv"),
        (b'{"display_name": 1}', "string or null"),
        (json.dumps({"display_name": "a" * 201}).encode(), "limit is 200"),
        (b'{"display_name": "  "}', "blank"),
        (b'{"input_prompt": "\\u001b[31m"}', "control characters"),
    ],
)
def test_refuses_with_a_message_that_says_why(body, words):
    with pytest.raises(BadRequest, match=words):
        session_patch(body)
