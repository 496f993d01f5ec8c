"""A Jupyter message from a kernel or a client, in known types: the state
machine reads only what this gives it. A kernel may publish anything (a
list for content, a header without msg_type, a date in year 9999); a client
may send anything on a websocket."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from .values import date, text

# Identifiers a client or kernel chooses (cell ids, session ids, user names)
# are kept up to this length; a longer msg_id is kept as a digest of itself,
# so that what the kernel says of it later still finds it.
IDENTIFIER_MAX = 256
_TYPE_MAX = 64  # the longest message type of the protocol is 24


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


_EMPTY: dict[str, Any] = {}


class Header:
    """A message's header (or parent header) in known types. `msg_id`
    (`digest_id`) and `msg_type` (short text) are shaped at once: every
    message is routed by them. `date` (aware UTC, 1970-2200, else None),
    `session` and `username` (`identifier`) are shaped when read: most
    messages never are, and a kernel message is on the server's hot path."""

    __slots__ = ("msg_id", "msg_type", "_raw")

    def __init__(self, raw: Any) -> None:
        self._raw: dict[str, Any] = raw if isinstance(raw, dict) else _EMPTY
        self.msg_id = digest_id(self._raw.get("msg_id"))
        msg_type = self._raw.get("msg_type")
        self.msg_type: str | None = (
            msg_type if isinstance(msg_type, str) and len(msg_type) <= _TYPE_MAX else None
        )

    @property
    def date(self) -> datetime | None:
        return date(self._raw.get("date"))

    @property
    def session(self) -> str | None:
        return identifier(self._raw.get("session"))

    @property
    def username(self) -> str | None:
        return identifier(self._raw.get("username"))


class Message:
    """A message from a kernel or a client, shaped: `header` and `parent`
    (`Header`), `content` and `metadata` (JSON objects, empty when they
    were anything else; their fields are typed by whoever reads them),
    `channel` (short text or None)."""

    __slots__ = ("header", "parent", "content", "metadata", "channel")

    def __init__(self, raw: Any) -> None:
        raw = raw if isinstance(raw, dict) else _EMPTY
        self.header = Header(raw.get("header"))
        self.parent = Header(raw.get("parent_header"))
        content, metadata = raw.get("content"), raw.get("metadata")
        self.content: dict[str, Any] = content if isinstance(content, dict) else {}
        self.metadata: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
        channel = raw.get("channel")
        self.channel: str | None = (
            channel if isinstance(channel, str) and len(channel) <= 16 else None
        )


def message(raw: Any) -> Message:
    """`raw` (a deserialized message, or anything) shaped; a message shaped
    already is returned as it is."""
    return raw if isinstance(raw, Message) else Message(raw)
