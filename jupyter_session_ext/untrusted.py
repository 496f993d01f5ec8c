"""What comes from outside (a client, a kernel, another user's server),
made safe to parse or to show: a JSON document's nesting found without
parsing it, and text with its control and format characters escaped."""

from __future__ import annotations

import re
from typing import Any

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_OPEN_CLOSE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))  # deleted before the mapping


def structure(body: bytes, limit: int) -> tuple[int, int]:
    """(how deep `body` nests, up to `limit` + 1; how many objects and lists
    it opens), found without parsing it: the parser would recurse, and a
    flood of tiny containers would hold the event loop. Strings are dropped,
    every bracket and brace becomes `[` `]`, and one innermost level goes
    per pass."""
    brackets = _STRING.sub(b"", body).translate(_OPEN_CLOSE, _NOT_BRACKET)
    containers = brackets.count(b"[")
    for depth in range(limit + 1):
        if not brackets:
            return depth, containers
        shallower = brackets.replace(b"[]", b"")
        if len(shallower) == len(brackets):
            return depth, containers  # not well nested: the parser says why
        brackets = shallower
    return limit + 1, containers


def too_deep(body: bytes, limit: int) -> bool:
    """Whether `body` nests deeper than `limit`."""
    return structure(body, limit)[0] > limit


def printable(value: Any, limit: int = 200) -> str:
    """`value` for a log line or a terminal: capped, control and format
    characters escaped (a newline must not start a line of its own, an
    escape sequence must not drive the terminal)."""
    line = str(value)
    if len(line) > limit:
        line = line[:limit] + "…"
    if line.isprintable():
        return line
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line
    )
