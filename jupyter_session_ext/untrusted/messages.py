"""A Jupyter message from a kernel or a client, in known types: the state
machine reads only what this gives it. A kernel may publish anything (a
list for content, a header without msg_type, a date in year 9999); a client
may send anything on a websocket."""

from __future__ import annotations

import hashlib
from typing import Any

from .values import date, mapping, text

# Identifiers a client or kernel chooses (cell ids, session ids, user names)
# are kept up to this length; a longer msg_id is kept as a digest of itself,
# so that what the kernel says of it later still finds it.
IDENTIFIER_MAX = 256
_TYPE_MAX = 64  # the longest message type of the protocol is 24


class Message(dict[str, Any]):
    """A message `message()` shaped: `header` and `parent_header` (see
    `header`), `content` and `metadata` (JSON objects, their fields still to
    be typed by whoever reads them), `channel` (text or None)."""


def digest_id(value: Any) -> str | None:
    """A msg_id as the queue matches it: text (a number is matched as its
    text), a digest when overlong; None for anything else."""
    if isinstance(value, str):
        text_id: str = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text_id = str(value) if -(10**18) < value < 10**18 else "digits"
    else:
        return None
    if len(text_id) <= IDENTIFIER_MAX:
        return text_id
    return "sha256:" + hashlib.sha256(text_id.encode("utf-8", "replace")).hexdigest()


def identifier(value: Any) -> str | None:
    """A cell id, session id or user name: non-empty text, capped."""
    return text(value, IDENTIFIER_MAX) if isinstance(value, str) and value else None


_EMPTY_HEADER: dict[str, Any] = {
    "msg_id": None,
    "msg_type": None,
    "session": None,
    "username": None,
    "date": None,
}


def header(raw: Any) -> dict[str, Any]:
    """The fields of a header the state machine reads, typed: `msg_id`
    (`digest_id`), `msg_type` (short text), `session` and `username`
    (`identifier`), `date` (aware UTC, 1970-2200, else None)."""
    if not isinstance(raw, dict) or not raw:
        return dict(_EMPTY_HEADER)
    msg_type = raw.get("msg_type")
    return {
        "msg_id": digest_id(raw.get("msg_id")),
        "msg_type": msg_type if isinstance(msg_type, str) and len(msg_type) <= _TYPE_MAX else None,
        "session": identifier(raw.get("session")),
        "username": identifier(raw.get("username")),
        "date": date(raw.get("date")),
    }


def message(raw: Any) -> Message:
    """`raw` (a deserialized message, or anything) shaped; a message shaped
    already is returned as it is."""
    if isinstance(raw, Message):
        return raw
    raw = mapping(raw)
    channel = raw.get("channel")
    return Message(
        header=header(raw.get("header")),
        parent_header=header(raw.get("parent_header")),
        content=mapping(raw.get("content")),
        metadata=mapping(raw.get("metadata")),
        channel=channel if isinstance(channel, str) and len(channel) <= 16 else None,
    )
