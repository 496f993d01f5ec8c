"""jupyter_server's IOPub activity watcher, its job done from a message parsed
once for it and for the IOPub observer (iopub.py).

jupyter_server watches every kernel's IOPub to keep `kernel.last_activity`,
`kernel.execution_state` and the manager's `last_kernel_activity` (the culler
and `api/kernels` read them): `MappingKernelManager.start_watching_activity`
puts a closure, `record_activity`, on the stream. It deserializes every
message fully (dates parsed, metadata read) and each status message twice:
under load, a fifth of the server's CPU. The observer reads the same messages.

`ServerActivity` does exactly what that closure does, with the closure's own
manager, kernel and session, from one parse that the observer then reads too.
It takes the closure's place only when the closure's source is one it knows,
line for line (`KNOWN_SOURCES`); any other watcher keeps running as it is,
and the observer reads after it (`iopub.ActivityTap`). What it reads of the
closure is in server_hooks.py.

One thing it does differently, on purpose: a message answering one of the
extension's own requests (own_requests.py) is checked as any other and
changes nothing of the kernel's model, so that the server reports what it
would without the extension (a kernel nobody has connected to stays
"starting", and its `last_activity` moves only with the kernel's own work).
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from jupyter_client.session import DELIM

from ..server_hooks import RECORD_ACTIVITY_QUALNAME, record_activity_parts, remember_signature
from .own_requests import is_own
from .wire_format import unpacker, verify

# sha256 of record_activity's dedented source, per jupyter_server release that
# has it. A new release's watcher is taken over once it has been read and added.
KNOWN_SOURCES = {
    "991ffd9ba5efc829e117473ee68990a75affaacb7523a525a4bc4562587869fd": (
        "jupyter_server 2.18 to 2.21"
    ),
}

_fingerprints: dict[Any, str | None] = {}  # per code object: read its source once


def fingerprint(function: Callable[..., Any]) -> str | None:
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    if code not in _fingerprints:
        try:
            source = textwrap.dedent(inspect.getsource(code))
        except (OSError, TypeError):
            _fingerprints[code] = None
        else:
            _fingerprints[code] = hashlib.sha256(source.encode()).hexdigest()
    return _fingerprints[code]


def server_activity(callback: Any) -> ServerActivity | None:
    """A ServerActivity to run in place of `callback`, if `callback` is
    jupyter_server's own record_activity in a version we know; else None."""
    if getattr(callback, "__qualname__", None) != RECORD_ACTIVITY_QUALNAME:
        return None
    if fingerprint(callback) not in KNOWN_SOURCES:
        return None
    try:
        return ServerActivity(callback)
    except (KeyError, TypeError, ValueError):
        return None


class ServerActivity:
    """record_activity's job for one kernel (see the module's docstring)."""

    def __init__(self, record_activity: Callable[[list[bytes]], None]) -> None:
        self.original = record_activity
        parts = record_activity_parts(record_activity)
        self.manager, self.kernel, self.kernel_id = parts.manager, parts.kernel, parts.kernel_id
        # The watcher's own session: its memory of signatures (a replayed
        # status is refused) carries on unchanged.
        self.session = parts.session
        self._utcnow = parts.utcnow
        self._unpack = unpacker(self.session)

    def record(self, msg_list: list[bytes]) -> tuple[Any, ...] | None:
        """Do record_activity's job for one IOPub message, raising where it
        raises (a bad signature, a malformed message: the stream logs it).

        Returns the parsed (header, parent_header, content or None, raw
        content), or None when the message is not of protocol 5: then
        record_activity itself has run on it (it adapts older messages).
        """
        session = self.session
        fed = msg_list[msg_list.index(DELIM) + 1 :]
        verify(session, fed[0], fed[1:5], replay=True)
        if len(fed) < 5:
            raise TypeError("malformed message, must have at least 5 elements")
        unpack = self._unpack
        header = unpack(fed[1])
        parent = unpack(fed[2])
        unpack(fed[3])  # the metadata: a message whose metadata is not JSON is refused
        header["msg_id"]  # noqa: B018 (required, as by deserialize)
        msg_type = header["msg_type"]
        if is_own(parent):
            return self._own(msg_type, fed, header, parent)
        version = header.get("version")
        if not (isinstance(version, str) and version.startswith("5.")):
            self.original(msg_list)
            return None

        manager, kernel = self.manager, self.kernel
        parent_type = None if parent is None else parent.get("msg_type")
        # (asked once here; record_activity asks twice for a status message)
        parent_tracked = manager.track_message_type(parent_type)
        if (
            manager.track_message_type(msg_type)
            or parent_tracked
            or kernel.execution_state == "busy"
        ):
            manager.last_kernel_activity = kernel.last_activity = self._utcnow()
        content = None
        if msg_type == "status":
            # record_activity reads a status message's content with a second,
            # full deserialize, which remembers the signature.
            if session.auth is not None:
                remember_signature(session, fed[0])
            content = unpack(fed[4])
            execution_state = content["execution_state"]
            if parent_tracked:
                kernel.execution_state = execution_state
            elif kernel.execution_state == "starting" and execution_state != "starting":
                kernel.execution_state = "idle"
            manager.log.debug(
                "activity on %s: %s (%s)", self.kernel_id, msg_type, kernel.execution_state
            )
        else:
            manager.log.debug("activity on %s: %s", self.kernel_id, msg_type)
        return header, parent, content, fed[4]

    def _own(self, msg_type: str, fed: list[bytes], header: Any, parent: Any) -> tuple[Any, ...]:
        """A message answering one of our own requests, checked as every
        other: the kernel's model is left as it is (see the module's
        docstring)."""
        content = None
        if msg_type == "status":
            # As for any status the watcher reads: a replay of it is refused.
            if self.session.auth is not None:
                remember_signature(self.session, fed[0])
            content = self._unpack(fed[4])
        self.manager.log.debug(
            "activity on %s: %s for jupyter_session_ext's own request, not counted",
            self.kernel_id,
            msg_type,
        )
        return header, parent, content, fed[4]
