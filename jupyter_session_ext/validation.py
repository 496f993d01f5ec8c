"""Checks on what clients send, before anything is changed.

Every failure is a `BadRequest` with a message a person can act on; the
handlers turn it into a 400 JSON error.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

# Field -> longest accepted value. Prompts are short by nature; names are shown
# in a sidebar.
PATCHABLE_FIELDS = {
    "display_name": 200,
    "input_prompt": 64,
    "continuation_prompt": 64,
}


class BadRequest(ValueError):
    """The request body cannot be applied."""


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(f"Request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object.")
    return data


def session_patch(body: bytes) -> dict[str, str | None]:
    """The changes of a PATCH body: known fields only, each a string of
    printable characters (or null to go back to the default)."""
    data = parse_json_object(body)
    if not data:
        raise BadRequest(
            "Request body is empty; send any of: " + ", ".join(sorted(PATCHABLE_FIELDS)) + "."
        )
    unknown = sorted(set(data) - set(PATCHABLE_FIELDS))
    if unknown:
        raise BadRequest(
            f"Unknown or read-only field(s): {', '.join(unknown)}. "
            f"Only {', '.join(sorted(PATCHABLE_FIELDS))} can be changed."
        )
    changes: dict[str, str | None] = {}
    for name, value in data.items():
        if value is None:
            changes[name] = None
            continue
        if not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a string or null, not {type(value).__name__}.")
        limit = PATCHABLE_FIELDS[name]
        if len(value) > limit:
            raise BadRequest(f"'{name}' is {len(value)} characters long; the limit is {limit}.")
        if name == "display_name" and not value.strip():
            raise BadRequest("'display_name' must not be blank.")
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
            raise BadRequest(f"'{name}' must not contain control characters.")
        changes[name] = value
    return changes
