"""Bytes from outside (a request body, a user's server's answer in the
fleet service, a kernel's websocket frame) as JSON, once their shape is
known to be cheap to parse."""

from __future__ import annotations

import json
import re
from typing import Any

from .values import Refused

# A JSON string, or one that never closes (it runs to the end, a lone
# backslash included). Written so that each byte has one way to match: a
# string that does not close is taken whole at once, instead of failing and
# being tried again from the next quote (which was quadratic: 16 KB of `\"`
# after a `"` took 1.6 s).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)
_OPEN_CLOSE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))  # deleted before the mapping


def structure(body: bytes, limit: int) -> tuple[int, int]:
    """(how deep `body` nests, up to `limit` + 1; how many objects and lists
    it opens), found without parsing it: the parser would recurse, and a
    flood of tiny containers would hold the event loop. Strings are dropped,
    every bracket and brace becomes `[` `]`, and one innermost level goes
    per pass: at most `limit` + 1 passes, each linear."""
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


def loads(body: bytes | str, *, max_bytes: int, max_depth: int, max_containers: int) -> Any:
    """`body` as JSON, or `Refused` saying why not: too big, too deep, too
    many objects and lists (5 MB of `[],` would hold the event loop for a
    second), not UTF-8, not JSON. NaN and Infinity, which are not JSON, read
    as null."""
    if isinstance(body, str):
        try:
            body = body.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            raise Refused("not UTF-8") from None
    if len(body) > max_bytes:
        raise Refused(f"{len(body):,} bytes; the limit is {max_bytes:,}")
    depth, containers = structure(body, max_depth)
    if depth > max_depth:
        raise Refused(f"nested deeper than {max_depth} levels")
    if containers > max_containers:
        raise Refused(f"more than {max_containers:,} objects and lists")
    try:
        return json.loads(body, parse_constant=_not_json)
    except UnicodeDecodeError:
        raise Refused("not UTF-8") from None
    except (ValueError, RecursionError) as err:
        # The parser's message names a position, never the text itself.
        raise Refused(f"not JSON ({str(err)[:80]})") from None


def _not_json(_: str) -> None:
    return None
