"""Bytes from outside (a request body, a user's server's answer in the
fleet service, a kernel's websocket frame) as JSON, once their shape is
known to be cheap to parse."""

from __future__ import annotations

import gc
import json
from typing import Any

from .values import Refused

STRINGS_PER_CONTAINER = 64

_OPEN_CLOSE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))  # deleted before the mapping


def _unescaped(body: bytes) -> bytes:
    """`body` without its escape pairs `\\\\` and `\\"` (as a JSON string reads
    them, from the left): every quote left opens or closes a string."""
    return body.replace(b"\\\\", b"").replace(b'\\"', b"")


def _outside_strings(unescaped: bytes) -> bytes:
    """What stands between the strings (a string that never closes runs to
    the end). Made by bytes methods alone, each one pass in C: a regular
    expression for strings restarted at every quote of one that never
    closes (16 KB of \\" took 1.6 s), and even one that never restarts
    builds a backtracking stack as long as the string."""
    return b"".join(unescaped.split(b'"')[::2])


def structure(body: bytes, limit: int) -> tuple[int, int]:
    """(how deep `body` nests, up to `limit` + 1; how many objects and lists
    it opens), found without parsing it: the parser would recurse, and a
    flood of tiny containers would hold the event loop. Strings are dropped,
    every bracket and brace becomes `[` `]`, and one innermost level goes
    per pass: at most `limit` + 1 passes, each linear."""
    return _nesting(_outside_strings(_unescaped(body)), limit)


def _nesting(outside: bytes, limit: int) -> tuple[int, int]:
    brackets = _brackets(outside)
    return _depth(brackets, limit), brackets.count(b"[")


def _brackets(outside: bytes) -> bytes:
    """Only the brackets and braces, all as `[` `]`."""
    return outside.translate(_OPEN_CLOSE, _NOT_BRACKET)


def _depth(brackets: bytes, limit: int) -> int:
    for depth in range(limit + 1):
        if not brackets:
            return depth
        shallower = brackets.replace(b"[]", b"")
        if len(shallower) == len(brackets):
            return depth  # not well nested: the parser says why
        brackets = shallower
    return limit + 1


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
    unescaped = _unescaped(body)
    # A document has a few strings for each object or list (each key is
    # one): more quotes than that is no document of ours, and is refused
    # before they are split on.
    if unescaped.count(b'"') > 2 * STRINGS_PER_CONTAINER * max(max_containers, 1):
        raise Refused(f"more than {STRINGS_PER_CONTAINER * max_containers:,} strings")
    brackets = _brackets(_outside_strings(unescaped))
    containers = brackets.count(b"[")
    # Before the passes of _depth, which each read all the brackets (a 4 MB
    # nest of 2 million lists took 1.6 s of them): more opening brackets in
    # a row than the depth allowed is too deep, found in one search; then too
    # many containers, or brackets that do not pair, are refused unpassed, so
    # the passes read at most (max_depth + 1) times 2 * max_containers bytes.
    if b"[" * (max_depth + 1) in brackets:
        raise Refused(f"nested deeper than {max_depth} levels")
    if containers > max_containers:
        raise Refused(f"more than {max_containers:,} objects and lists")
    if len(brackets) != 2 * containers:
        raise Refused("not JSON (its brackets and braces do not pair)")
    if _depth(brackets, max_depth) > max_depth:
        raise Refused(f"nested deeper than {max_depth} levels")
    # Parsing makes no reference cycles, and a collection of the garbage
    # collector's oldest generation walks the whole server's heap: allocated
    # by the thousand, the containers would trigger several for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return json.loads(body, parse_constant=_not_json)
    except UnicodeDecodeError:
        raise Refused("not UTF-8") from None
    except (ValueError, RecursionError) as err:
        # The parser's message names a position, never the text itself.
        raise Refused(f"not JSON ({str(err)[:80]})") from None
    finally:
        if collecting:
            gc.enable()


def _not_json(_: str) -> None:
    return None
