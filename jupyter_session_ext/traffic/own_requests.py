"""The extension's own requests to a kernel (the kernel_info of
`kernel_info.py`), and how to know what answers them.

Each one goes out with `OWN_SESSION` as its header's `session`, and a kernel
copies a request's header into the parent header of every reply and status
it sends for it. What answers our own requests is not the kernel's activity:
jupyter_server's IOPub watcher never counts it (`activity_watcher.py`,
`iopub.ActivityTap`), so its kernel model (`execution_state`,
`last_activity`) reads as it would without the extension, and neither does
the state machine. It only tells the observer that IOPub is read up to the
kernel's answer (`IOPubObserver.own_answered`).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

# One per process: a session id that only this extension sends with.
OWN_SESSION = f"jupyter_session_ext-{uuid4().hex}"
_OWN_BYTES = OWN_SESSION.encode()


def is_own(parent: Any) -> bool:
    """Whether a message's parsed parent header is one of our requests."""
    return isinstance(parent, dict) and parent.get("session") == OWN_SESSION


def may_be_own(raw_parent: Any) -> bool:
    """The test before parsing: a packed parent header that holds our session
    id (any packer writes a string's characters as they are); `is_own` on the
    parsed header decides."""
    try:
        return _OWN_BYTES in raw_parent
    except TypeError:
        return False
