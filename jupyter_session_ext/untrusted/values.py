"""Values from outside made into known types: each shaper returns its type
or None (or raises `Refused`, where a value is required), in time linear
in the value's size, and never raises anything else."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

# Dates outside these are no one's real date: a kernel or a user's server
# that sends year 9999 at -05:00 would overflow every sum and conversion.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
_DATE_TEXT_MAX = 64  # "2026-12-06T05:22:15.123456+00:00" is 32
_ZERO = timedelta(0)


class Refused(ValueError):
    """A value (or a document) from outside that cannot be used: why, in
    words that quote nothing of it unescaped."""


def date(value: Any) -> datetime | None:
    """An aware UTC datetime between 1970 and 2200, from a datetime or ISO
    8601 text (naive means UTC, as jupyter_client writes); None for anything
    else."""
    if isinstance(value, str):
        if len(value) > _DATE_TEXT_MAX:
            return None
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    elif not isinstance(value, datetime):
        return None
    try:
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=timezone.utc)
        elif value.utcoffset() != _ZERO or value.tzinfo is not timezone.utc:
            value = value.astimezone(timezone.utc)
    except (OverflowError, ValueError, TypeError, ArithmeticError):
        return None  # the offset moves it beyond year 1 or 9999, or a tzinfo that fails
    return value if EARLIEST <= value < LATEST else None


def number(value: Any, low: float, high: float) -> float | None:
    """A finite number in [low, high] (JSON's true and false are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        # Compared as an int, and only then made a float (10**400 is no float).
        if not low <= value <= high or not -(2**1023) < value < 2**1023:
            return None
        return float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def whole(value: Any, low: float, high: float) -> int | None:
    """A whole number in [low, high]; a float is cut to its whole part
    (which must be in the range too)."""
    shaped = number(value, low, high)
    if shaped is None or not low <= int(shaped) <= high:
        return None
    return int(shaped)


def integer(value: Any, low: int, high: int) -> int | None:
    """An int in [low, high]: a float (even 3.0) is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def text(value: Any, limit: int) -> str | None:
    """A string, cut to `limit` characters (the last one an ellipsis), and
    valid Unicode: JSON may carry a lone surrogate ("\\ud800"), which no
    UTF-8 encoder (SQLite's, a response's) takes; it becomes U+FFFD."""
    if not isinstance(value, str):
        return None
    kept: str = value if len(value) <= limit else value[: limit - 1] + "…"
    if not kept.isascii():
        try:
            kept.encode("utf-8")
        except UnicodeEncodeError:
            # Through UTF-16: a pair of surrogates becomes its character, and
            # each lone one a single U+FFFD.
            kept = kept.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return kept


def one_of(value: Any, known: frozenset[str], other: str) -> str:
    return value if isinstance(value, str) and value in known else other


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def json_value(value: Any, *, depth: int = 8, size: int = 65536, string: int = 8192) -> Any:
    """A copy of `value` made of JSON's types only: at most `depth` levels
    (deeper ones null), strings cut to `string` characters, at most `size`
    in all (each value counts one, each character of a string or key one
    more; what is beyond is left out), numbers finite (NaN, Infinity and
    ints beyond 2**53 null), keys strings. Its time is linear in what is
    kept, whatever `value`'s size."""
    budget = [size]

    def shape(item: Any, level: int) -> Any:
        budget[0] -= 1
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, str):
            kept = text(item, max(1, min(string, budget[0])))
            budget[0] -= len(kept or "")
            return kept
        if isinstance(item, int):
            return item if -(2**53) <= item <= 2**53 else None
        if isinstance(item, float):
            return item if math.isfinite(item) else None
        if level >= depth:
            return None
        if isinstance(item, dict):
            shaped: dict[str, Any] = {}
            for key, inner in item.items():
                if budget[0] <= 0:
                    break
                if isinstance(key, str):
                    key = text(key, max(1, min(256, budget[0]))) or ""
                    budget[0] -= len(key)
                    shaped[key] = shape(inner, level + 1)
            return shaped
        if isinstance(item, (list, tuple)):
            listed = []
            for inner in item:
                if budget[0] <= 0:
                    break
                listed.append(shape(inner, level + 1))
            return listed
        return None

    return shape(value, 0)
