"""How the observers read a kernel message's parts and check its signature:
the kernel session's own unpacker, or, when that is jupyter_client's JSON
one, the same decoding without its Python layers (a cell is some fifteen
parts on the observed paths; benchmarks/observer_cost.py measures it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from hmac import compare_digest
from typing import Any

from jupyter_client.session import json_unpacker

# The C scanner json.loads ends in (an attribute typeshed does not list).
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _json_part(raw: bytes | str) -> Any:
    text = raw.decode("utf8", "replace") if isinstance(raw, bytes) else raw
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError):
        return json_unpacker(raw)  # leading whitespace, or bad JSON: its error
    if end != len(text):
        return json_unpacker(raw)  # trailing whitespace, or more than one value
    return value


def unpacker(session: Any) -> Callable[[Any], Any]:
    """The function that reads one part of a message of `session`."""
    unpack = session.unpack
    return _json_part if unpack is json_unpacker else unpack


def verify(session: Any, signature: bytes, parts: list[bytes], replay: bool = False) -> None:
    """Raise ValueError unless `signature` signs the message's four parts
    (header, parent, metadata, content) under `session`'s key, as
    jupyter_client's `Session.deserialize` checks it; with `replay`, a
    signature the session has seen already is refused too."""
    if session.auth is None:
        return
    if not signature:
        raise ValueError("Unsigned Message")
    if replay and signature in session.digest_history:
        raise ValueError(f"Duplicate Signature: {signature!r}")
    if not compare_digest(signature, session.sign(parts)):
        raise ValueError(f"Invalid Signature: {signature!r}")
