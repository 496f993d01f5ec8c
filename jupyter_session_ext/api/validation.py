"""Checks on what clients send, before anything is changed.

Every failure is a `BadRequest` with a message a person can act on; the
handlers turn it into a 400 JSON error.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..untrusted import Refused, loads

# Field -> longest accepted value. Prompts are short by nature; names are shown
# in a sidebar.
TEXT_FIELDS = {
    "display_name": 200,
    "input_prompt": 64,
    "continuation_prompt": 64,
}
# Seconds; 0 = never cull this kernel. A year is far beyond any real timeout
# and keeps the arithmetic on dates safe.
IDLE_TIMEOUT_MAX = 366 * 24 * 3600
PATCHABLE_FIELDS = (*TEXT_FIELDS, "idle_timeout")
# What `limit` of the history route accepts.
HISTORY_LIMIT_MAX = 10_000
# A PATCH body is a handful of short fields: anything bigger or deeper is not one.
BODY_MAX_BYTES = 16 * 1024
BODY_MAX_DEPTH = 8
BODY_MAX_CONTAINERS = 64
# Characters a name shown in everyone's panel must not hold: control, format
# (U+202E right-to-left override, U+200B zero-width space...), line and
# paragraph separators, surrogates.
REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "a format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a surrogate",
}


class BadRequest(Refused):
    """The request body cannot be applied."""


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = loads(
            body,
            max_bytes=BODY_MAX_BYTES,
            max_depth=BODY_MAX_DEPTH,
            max_containers=BODY_MAX_CONTAINERS,
        )
    except Refused as err:
        raise BadRequest(f"Request body refused: {err}.") from None
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object.")
    return data


def session_patch(body: bytes) -> dict[str, Any]:
    """The changes of a PATCH body: known fields only, each a string of
    printable characters, `idle_timeout` whole seconds (or null to go back
    to the default)."""
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
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            changes[name] = None
            continue
        if name == "idle_timeout":
            changes[name] = idle_timeout(value)
            continue
        if not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a string or null, not {type(value).__name__}.")
        limit = TEXT_FIELDS[name]
        if len(value) > limit:
            raise BadRequest(f"'{name}' is {len(value)} characters long; the limit is {limit}.")
        if name == "display_name" and not value.strip():
            raise BadRequest("'display_name' must not be blank.")
        refused(name, value)
        changes[name] = value
    return changes


def refused(name: str, value: str) -> None:
    """BadRequest naming the first character `value` may not hold."""
    for ch in value:
        what = REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if what is not None:
            label = unicodedata.name(ch, "")
            raise BadRequest(
                f"'{name}' must not contain U+{ord(ch):04X}{' ' + label if label else ''} "
                f"({what}): it would show differently from what it says."
            )


def idle_timeout(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 60.0 is a whole number in JSON
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(
            f"'idle_timeout' must be a whole number of seconds (0 = never cull) or null, "
            f"not {json.dumps(value)[:40]}."
        )
    if value < 0:
        raise BadRequest(f"'idle_timeout' must be 0 (never cull) or more seconds, not {value}.")
    if value > IDLE_TIMEOUT_MAX:
        raise BadRequest(f"'idle_timeout' is at most {IDLE_TIMEOUT_MAX} seconds (a year).")
    return value


def once(values: list[str], name: str) -> str | None:
    """A query argument given at most once. tornado takes the last of
    several, so `?limit=x&limit=5` would be answered as if it were valid."""
    if len(values) > 1:
        raise BadRequest(f"{name!r} may be given once, not {len(values)} times.")
    return values[0] if values else None


def history_limit(text: str | None, name: str = "limit") -> int | None:
    """The `limit` query argument of the history route (and `points` of the
    resources routes): a whole number from 1."""
    if text is None:
        return None
    digits = len(str(HISTORY_LIMIT_MAX))
    if (
        not (len(text) <= digits and text.isascii() and text.isdigit())
        or not 1 <= int(text) <= HISTORY_LIMIT_MAX
    ):
        raise BadRequest(
            f"{name!r} must be a whole number from 1 to {HISTORY_LIMIT_MAX}, not {text!r}."
        )
    return int(text)


LIST_PARTS = ("ended", "status")


def list_include(text: str | None) -> tuple[str, ...]:
    """The `include` query argument of the list route: which other routes'
    answers to add to it (`ended`, `status`, comma-separated), so that one
    request says what the fleet service asks of a server."""
    if text is None or text == "":
        return ()
    parts = tuple(dict.fromkeys(text.split(",")))
    unknown = [p for p in parts if p not in LIST_PARTS]
    if unknown:
        raise BadRequest(
            f"'include' names {', '.join(LIST_PARTS)}, comma-separated; not {unknown[0][:40]!r}."
        )
    return parts
