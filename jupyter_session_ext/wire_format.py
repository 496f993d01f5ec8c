"""How the observers read a kernel message's parts: the kernel session's own
unpacker, or, when that is jupyter_client's JSON one, the same decoding
without its Python layers (a message part costs ~0.6 us instead of ~1.5 us,
and a cell is some fifteen parts on the observed paths).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from jupyter_client.session import json_unpacker

_scan = json.JSONDecoder().scan_once  # the C scanner json.loads ends in


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
