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
        (b"{", "not JSON"),
        (b"\xff", "not UTF-8"),
        (b"[1]", "JSON object"),
        (b"{}", "empty"),
        (b'{"argv": []}', "argv"),
        (b'{"display_name": 1}', "string or null"),
        (json.dumps({"display_name": "a" * 201}).encode(), "limit is 200"),
        (b'{"display_name": "  "}', "blank"),
        (b'{"input_prompt": "\\u001b[31m"}', "U\\+001B \\(a control character\\)"),
        # Names that would show as something else in everyone's panel.
        (b'{"display_name": "gpu\\u202eexe.ipynb"}', "U\\+202E RIGHT-TO-LEFT OVERRIDE"),
        (b'{"display_name": "train\\u200b"}', "U\\+200B ZERO WIDTH SPACE \\(a format"),
        (b'{"display_name": "a\\u2028b"}', "U\\+2028 LINE SEPARATOR"),
        (b'{"continuation_prompt": "\\u2029"}', "a paragraph separator"),
        # Bodies no PATCH is: too deep, too big (nothing is parsed).
        (b'{"display_name": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "deeper than 8"),
        (b'{"display_name": "' + b"x" * 20_000 + b'"}', "the limit is 16,384"),
    ],
)
def test_refuses_with_a_message_that_says_why(body, words):
    with pytest.raises(BadRequest, match=words):
        session_patch(body)
