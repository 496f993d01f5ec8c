"""Where kernel traffic is observed (1): the kernel's IOPub stream.

IOPub is seen per kernel the way jupyter_server's own activity watcher
(`MappingKernelManager.start_watching_activity`) sees it, so executions from
every client are seen, including clients that bypass this server's
websockets. Nothing here raises into the event loop: a kernel that sends
garbage is ignored, and logged once a minute at most.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import zmq
from jupyter_client.session import DELIM, Session

from ..server_hooks import activity_stream, iopub_url, stream_callback
from ..state.message_types import IOPUB_CONTENT_TYPES
from ..untrusted import LogLimiter, Message, message
from .activity_watcher import ServerActivity, server_activity
from .own_requests import is_own, may_be_own
from .wire_format import unpacker, verify

MessageCallback = Callable[[Message], None]
# A kernel can send the same bad message in a loop: a line a minute.
_failures = LogLimiter()


def signing_session(km: Any, session_id: str | None = None) -> Session:
    # Same config and key as the kernel's session: messages are verified, and
    # the key never leaves this object. `session_id`: what its requests say
    # they come from (own_requests.OWN_SESSION), else a new one.
    if session_id is None:
        return Session(config=km.session.config, key=km.session.key)
    return Session(config=km.session.config, key=km.session.key, session=session_id)


def on_current_ports(km: Any, stream: Any) -> bool:
    """False for a watcher's `stream` left on ports the kernel no longer uses:
    jupyter_client's restarter can bring a dead kernel back on new ports
    (ports not cached), and jupyter_server re-watches only after restarts it
    was asked for."""
    try:
        endpoint = stream.socket.get(zmq.LAST_ENDPOINT).decode()
        return bool(endpoint == iopub_url(km))
    except Exception:
        return True  # cannot tell (another kernel manager): as before


class IOPubObserver:
    """Sees one kernel's IOPub and hands the messages the state machine reads
    (IOPUB_CONTENT_TYPES) to a callback.

    Where it can, it rides on jupyter_server's own activity watcher
    (`MappingKernelManager.start_watching_activity`, whose ZMQStream the
    kernel manager keeps: server_hooks.activity_stream): each message is then received
    once, not once more on a subscription of ours. When the watcher is
    jupyter_server's own, in a version we know, each message is parsed once
    too, for the watcher's job and ours (`SharedParseTap`,
    activity_watcher.py); any other watcher runs first, unchanged, and checks
    the signature before we read (`ActivityTap`). Without such a stream
    (another kernel manager) it subscribes to IOPub itself and checks
    signatures itself.

    Most IOPub traffic (streams, display data, results) is not read at all: a
    byte test on the header (for a word that stands in the header of every
    message type in IOPUB_CONTENT_TYPES) skips it before any parsing. The
    messages read are parsed part by part: no date parsing (jupyter_client's
    deserialize parses every header date; the state machine reads none of
    them on this path).

    What answers the extension's own requests (own_requests.py) reaches
    neither the server's watcher nor the state machine: the kernel's idle for
    one of them sets `own_answered`, and that is all it does.
    """

    def __init__(self, km: Any, on_message: MessageCallback, log: logging.Logger) -> None:
        self._km = km
        self._on_message = on_message
        self._log = log
        self._session = signing_session(km)
        # Read per message: plain attributes, not the session's traits.
        self._unpack = unpacker(self._session)
        self._signed = self._session.auth is not None
        # A SUB socket connects in the background (ZMQ's "slow joiner"): what
        # the kernel publishes before then is lost. Set once a message came.
        self.live = asyncio.Event()
        # Set when the kernel's idle for one of our own requests came through:
        # everything it published before answering has been read, by the
        # server's watcher and by us (kernel_info.kernel_info_when_live).
        self.own_answered = asyncio.Event()
        self._stream: Any = None  # our own subscription
        self._tap: ActivityTap | None = None  # on the server's activity watcher
        self._closed = False
        self.tap(activity_stream(km))

    # -- where the messages come from ----------------------------------------------

    def tap(self, stream: Any) -> bool:
        """Ride on `stream`, the server's activity watcher of this kernel (a new
        one comes after a restart that changed ports). False if it cannot,
        or if the watcher is on the kernel's old ports (then we subscribe
        ourselves: kernel_info.kernel_info_when_live)."""
        callback = stream_callback(stream)
        if self._closed or self._stream is not None or callback is None or stream.closed():
            return False
        if not on_current_ports(self._km, stream):
            return False
        if isinstance(callback, ActivityTap):
            if callback.observer is self:
                return True
            callback.observer.untap()  # an observer of this kernel's last process
            callback = stream_callback(stream)
        if self._tap is not None and self._tap.stream is not stream:
            # A new SUB socket connects in the background: not live until a
            # message comes through it (the tracker nudges the kernel for one).
            self.live.clear()
        self.untap()
        activity = server_activity(callback)
        self._tap = (
            ActivityTap(self, stream, callback)
            if activity is None
            else SharedParseTap(self, stream, callback, activity)
        )
        stream.on_recv(self._tap)
        return True

    def untap(self) -> None:
        """Give the watcher's stream its own callback back, if ours is on it."""
        tap, self._tap = self._tap, None
        if tap is not None and not tap.stream.closed() and stream_callback(tap.stream) is tap:
            tap.stream.on_recv(tap.original)

    def subscribe(self) -> None:
        """A subscription of our own, for a kernel without a watcher to tap."""
        if self._closed or self.has_source:
            return
        self._stream = self._km.connect_iopub()
        self._stream.on_recv(self._receive)

    @property
    def has_source(self) -> bool:
        if self._stream is not None:
            return True
        return self._tap is not None and not self._tap.stream.closed()

    @property
    def shared(self) -> bool:
        """True while riding on the server's activity watcher."""
        return self._stream is None and self.has_source

    # -- reading ---------------------------------------------------------------------

    def _receive(self, msg_list: list[bytes], verified: bool = False) -> None:
        """A message as it came off the socket: our own subscription, or the
        stream of a watcher that is not jupyter_server's own."""
        self.live.set()
        try:
            parsed = self._parse(msg_list, verified)
        except Exception:
            _failures.warning(
                "iopub-parse",
                "Active sessions: ignoring IOPub messages that do not parse",
                log=self._log,
            )
            return
        if parsed is not None:
            self._read(*parsed)

    def _receive_parsed(self, header: Any, parent: Any, content: Any, raw_content: bytes) -> None:
        """A message the server's watcher job parsed (SharedParseTap) and
        accepted; `content` is parsed already for status messages."""
        self.live.set()
        self._read(header, parent, content, raw_content)

    def _read(self, header: Any, parent: Any, content: Any, raw_content: bytes) -> None:
        """Hand the state machine a message it reads (`content` None: not
        parsed yet); any other is skipped."""
        try:
            if not isinstance(header, dict) or header.get("msg_type") not in IOPUB_CONTENT_TYPES:
                return
            own = is_own(parent)
            if own and header.get("msg_type") != "status":
                return
            if content is None:
                content = self._unpack(raw_content)
        except Exception:
            _failures.warning(
                "iopub-parse",
                "Active sessions: ignoring IOPub messages that do not parse",
                log=self._log,
            )
            return
        if own:
            # Our own request's: not the kernel's work, only proof of reading.
            if isinstance(content, dict) and content.get("execution_state") == "idle":
                self.own_answered.set()
            return
        msg = message({"header": header, "parent_header": parent, "content": content})
        try:
            self._on_message(msg)
        except Exception:
            _failures.exception(
                "iopub-handle", "Active sessions: failed to handle an IOPub message", log=self._log
            )

    def _parse(self, msg_list: list[bytes], verified: bool) -> tuple[Any, Any, None, bytes] | None:
        """(header, parent_header, None, raw content) of a message the state
        machine reads; None for any other. Raises on a bad signature or bad
        JSON."""
        start = msg_list.index(DELIM) + 1  # [signature, header, parent, metadata, content]
        header_raw = msg_list[start + 1]
        if (
            b"status" not in header_raw
            and b"execute_input" not in header_raw
            and b'"error"' not in header_raw
        ):
            return None
        parts = msg_list[start + 1 : start + 5]
        if not verified and self._signed:
            verify(self._session, msg_list[start], parts)
        unpack = self._unpack
        header = unpack(header_raw)
        if not isinstance(header, dict) or header.get("msg_type") not in IOPUB_CONTENT_TYPES:
            return None
        return header, unpack(parts[1]), None, parts[3]

    def answers_own(self, msg_list: list[bytes]) -> bool:
        """Whether a message as it came off the socket answers one of our own
        requests (its signature is not checked here: `_receive` checks it)."""
        try:
            raw_parent = msg_list[msg_list.index(DELIM) + 3]
            return may_be_own(raw_parent) and is_own(self._unpack(raw_parent))
        except Exception:
            return False  # the watcher refuses it as it refuses any other

    def drain(self) -> None:
        """Read now what has already come: the server closes its watcher's
        socket as a shutdown begins, and what waits in it then (the idle of
        the cell that just ended) would never be read."""
        stream = self._stream
        if stream is None and self._tap is not None:
            stream = self._tap.stream
        if stream is not None and not stream.closed():
            stream.flush(zmq.POLLIN)

    def close(self) -> None:
        self._closed = True
        self.untap()
        stream, self._stream = self._stream, None
        if stream is not None and not stream.closed():
            stream.close()


class ActivityTap:
    """The callback put on the activity watcher's stream: the watcher's own
    first, unchanged (it raises on a bad signature: then we do not read).
    It never sees what answers our own requests: it would count them."""

    def __init__(self, observer: IOPubObserver, stream: Any, original: Callable[..., Any]) -> None:
        self.observer, self.stream, self.original = observer, stream, original

    def __call__(self, msg_list: list[bytes]) -> None:
        if self.observer.answers_own(msg_list):
            self.observer._receive(msg_list)
            return
        self.original(msg_list)
        self.observer._receive(msg_list, verified=True)


class SharedParseTap(ActivityTap):
    """Put on the stream in place of jupyter_server's own watcher: does its job
    (`ServerActivity`, raising where it raises) and hands the observer the
    parts it parsed."""

    def __init__(
        self,
        observer: IOPubObserver,
        stream: Any,
        original: Callable[..., Any],
        activity: ServerActivity,
    ) -> None:
        super().__init__(observer, stream, original)
        self.activity = activity

    def __call__(self, msg_list: list[bytes]) -> None:
        parsed = self.activity.record(msg_list)
        if parsed is None:  # an older protocol's message: the watcher itself read it
            self.observer._receive(msg_list, verified=True)
        else:
            self.observer._receive_parsed(*parsed)
