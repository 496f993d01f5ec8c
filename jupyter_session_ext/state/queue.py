"""A kernel's execution queue: the request it runs and those sent behind it.

Plain Python, like the status machine that feeds it (`kernel_state.py`).
"""

from __future__ import annotations

import struct
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..untrusted import Header, digest_id, identifier, message
from .timestamps import utcnow


@dataclass
class QueueEntry:
    """One execute_request: pending until the kernel starts it, then active."""

    msg_id: str
    code: str
    code_truncated: bool = False
    cell_id: str | None = None
    client_session_id: str | None = None
    username: str | None = None
    submitted: datetime = field(default_factory=utcnow)
    started: datetime | None = None
    execution_count: int | None = None
    # Order of submission (set by the queue); None for requests never seen sent.
    seq: int | None = None
    # How long the same cell took last time on this kernel (history.py).
    expected_seconds: float | None = None
    # What IOPub said of the run, for its outcome when IOPub's idle comes before
    # the reply: the kernel announced the code (aborted requests never are),
    # and the name of an error it published.
    input_seen: bool = False
    error_name: str | None = None
    # When the kernel said it began (its busy's own timestamp): with the
    # kernel's stamp of the end, a duration free of our delays in reading.
    kernel_started: datetime | None = None
    # The kernel's memory (process and children) when it started, and the
    # highest seen while it ran (lifecycle/resources.py samples it then).
    memory_start_bytes: int | None = None
    memory_peak_bytes: int | None = None
    # The server extension that sends this request to the kernel itself
    # (traffic/server_execution.py): its msg_id is a stand-in of ours until
    # the kernel starts it, and `adopt` gives it the kernel's.
    via: str | None = None
    # What such an extension said of the code instead of sending it
    # (jupyter-server-documents: `source_hash`, see `source_hash` below).
    source_hash: str | None = None


def source_hash(code: str) -> str:
    """MurmurHash2 (seed 0) of the code's UTF-8, in decimal: what
    jupyter-server-documents' frontend sends for each cell it asks the server
    to run, and checks against the shared document before queueing it."""
    return str(murmur2(code.encode("utf-8")))


def murmur2(data: bytes, seed: int = 0) -> int:
    """MurmurHash2 (x86, 32 bits) of `data`: with seed 0xC70F6907 of a
    cell's UTF-8, the name of the file ipykernel compiles it to (its
    `compiler.get_file_name`). Linear, the words read in one unpack."""
    m = 0x5BD1E995
    length = len(data)
    h = (seed ^ length) & 0xFFFFFFFF
    whole = length - length % 4
    for k in struct.unpack_from(f"<{whole // 4}I", data):
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = data[whole:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if rest:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def bounded_id(msg_id: object) -> str:
    """A msg_id as the queue keeps it: its text, or a digest when overlong
    (`untrusted.digest_id`); "" for what is no msg_id at all."""
    return digest_id(msg_id) or ""


def preview(code: str, limit: int) -> tuple[str, bool]:
    """Cut code to `limit` characters (0 or less: keep it whole)."""
    if limit > 0 and len(code) > limit:
        return code[:limit], True
    return code, False


def entry_from_request(
    msg: Any, username: str | None, preview_length: int, now: datetime
) -> QueueEntry | None:
    """The entry of an execute_request seen on its way to the kernel (None
    without a msg_id). `username` is the authenticated user who sent it."""
    msg = message(msg)
    header = msg.header
    if not header.msg_id:
        return None
    code = msg.content.get("code")
    text, truncated = preview(code if isinstance(code, str) else "", preview_length)
    return QueueEntry(
        msg_id=header.msg_id,
        code=text,
        code_truncated=truncated,
        cell_id=identifier(msg.metadata.get("cellId")),
        client_session_id=header.session,
        username=identifier(username) or header.username,
        submitted=now,
    )


def entry_from_parent(parent: Header, code: str, preview_length: int, now: datetime) -> QueueEntry:
    """The entry of a request nobody saw sent (a client talking to the kernel
    directly), from the (shaped) parent header of what the kernel published.
    Submitted when we first saw it: the header's date is the sender's
    clock, and the kernel may write any date there."""
    text, truncated = preview(code, preview_length)
    return QueueEntry(
        msg_id=bounded_id(parent.msg_id),
        code=text,
        code_truncated=truncated,
        client_session_id=parent.session,
        username=parent.username,
        submitted=now,
    )


def stand_in_id(via: str, request_id: str) -> str:
    """The msg_id a server extension's request is kept under until it starts."""
    return bounded_id(f"{via}:{request_id}")


def entry_from_server(
    via: str,
    request_id: str,
    code: str,
    cell_id: str | None,
    preview_length: int,
    now: datetime,
    code_hash: str | None = None,
) -> QueueEntry:
    """The entry of a request a server extension (`via`) accepted and sends
    the kernel itself, under a stand-in msg_id until it starts (`adopt`)."""
    text, truncated = preview(code, preview_length)
    return QueueEntry(
        msg_id=stand_in_id(via, request_id),
        code=text,
        code_truncated=truncated,
        cell_id=identifier(cell_id),
        # One sender, in order: what it skipped is dropped (`adopt`).
        client_session_id=via,
        submitted=now,
        via=via,
        source_hash=code_hash,
    )


class ExecutionQueue:
    """The reference semantics: `active` is what the kernel runs, `pending` the
    requests sent and not yet started, in order; `length` counts pending only.

    Bounded whatever a client sends: at most `max_pending` pending entries are
    kept whole; beyond them only their (bounded) msg_ids are, so `length`
    stays exact, up to `OVERFLOW_MEMORY` more. Finished requests are dropped
    at once, so memory does not grow with the number of executions.
    """

    # How many finished msg_ids to remember: a reply on shell can overtake the
    # request's `busy` on IOPub, which must not bring the request back.
    FINISHED_MEMORY = 256
    # Pending requests counted beyond `max_pending` (their msg_ids and order).
    OVERFLOW_MEMORY = 100_000

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self.active: QueueEntry | None = None
        self._pending: OrderedDict[str, QueueEntry] = OrderedDict()
        self._overflow: OrderedDict[str, int] = OrderedDict()  # msg_id -> seq
        self._finished_order: deque[str] = deque()
        self._finished: set[str] = set()
        # Bumped on every change a client could see, so observers compare one int.
        self.version = 0
        self._next_seq = 0

    @property
    def pending(self) -> list[QueueEntry]:
        return list(self._pending.values())

    def __len__(self) -> int:
        return len(self._pending) + len(self._overflow)

    def is_pending(self, msg_id: str | None) -> bool:
        """Sent, and not begun as far as anyone told."""
        if msg_id is None:
            return False
        msg_id = bounded_id(msg_id)
        return msg_id in self._pending or msg_id in self._overflow

    def submit(self, entry: QueueEntry) -> None:
        """A request was sent to the kernel (seen on its way in)."""
        if entry.msg_id in self._finished:
            return
        if self.active is not None and self.active.msg_id == entry.msg_id:
            return
        if entry.msg_id in self._pending or entry.msg_id in self._overflow:
            return  # the same request again
        self._next_seq += 1
        entry.seq = self._next_seq
        if len(self._pending) < self.max_pending and not self._overflow:
            self._pending[entry.msg_id] = entry
        elif len(self._overflow) < self.OVERFLOW_MEMORY:
            self._overflow[entry.msg_id] = entry.seq
        else:
            return  # beyond every bound: seen when it runs
        self.version += 1

    def start(
        self,
        msg_id: object,
        *,
        now: datetime,
        code: str | None = None,
        execution_count: int | None = None,
        fallback: Callable[[], QueueEntry] | None = None,
    ) -> QueueEntry | None:
        """The kernel began `msg_id`. A request nobody saw submitted (a client
        talking to the kernel directly), or one counted beyond `max_pending`,
        is built by `fallback`."""
        msg_id = bounded_id(msg_id)
        if msg_id in self._finished:
            return None
        entry = self._pending.pop(msg_id, None)
        if entry is None and self.active is not None and self.active.msg_id == msg_id:
            entry = self.active
        if entry is None:
            if fallback is None:
                return None
            seq = self._overflow.pop(msg_id, None)
            entry = fallback()
            entry.seq = seq
        # One client's requests run in the order sent: its requests sent before
        # this one and still pending were skipped (a missed abort reply).
        if self._pending and entry.client_session_id and entry.seq is not None:
            self._drop_submitted_before(entry)
        if entry.started is None:
            entry.started = now
        if execution_count is not None:
            entry.execution_count = execution_count
        self.active = entry
        self.version += 1
        return entry

    def adopt(self, active: QueueEntry, code: str = "") -> bool:
        """The kernel runs `active` (`code`, whole), a request nobody saw
        sent: if it is one a server extension asked for (the first of its
        pending requests with the same code, or the same hash of it; such an
        extension sends them in order), the active entry takes what was
        known of it (cell id, who, when, its place) and the stand-in leaves
        the pending list, with those sent before it (the extension skipped
        them)."""
        if active.seq is not None or active.via is not None:
            return False  # seen sent, or adopted already
        hashed: str | None = None
        entry = None
        for e in self._pending.values():
            if e.via is None:
                continue
            if e.source_hash is None:
                if e.code == active.code:
                    entry = e
                    break
                continue
            hashed = hashed or source_hash(code)
            if e.source_hash == hashed:
                entry = e
                break
        if entry is None:
            return False
        del self._pending[entry.msg_id]
        self._remember_finished(entry.msg_id)
        active.cell_id = entry.cell_id
        active.client_session_id = entry.client_session_id
        active.username = entry.username or active.username
        active.submitted = entry.submitted
        active.seq = entry.seq
        active.expected_seconds = entry.expected_seconds
        active.via = entry.via
        if entry.source_hash is None:
            active.code_truncated = active.code_truncated or entry.code_truncated
        self._drop_submitted_before(active)
        self.version += 1
        return True

    def describe(self, via: str, request_id: str, text: str, truncated: bool) -> bool:
        """The code of a server extension's pending request, learnt after it
        was queued (one that sent a hash of it)."""
        entry = self._pending.get(stand_in_id(via, request_id))
        if entry is None or entry.code == text:
            return False
        entry.code, entry.code_truncated = text, truncated
        self.version += 1
        return True

    def withdraw(self, via: str, request_id: str) -> bool:
        """A server extension dropped a request before the kernel ran it."""
        msg_id = stand_in_id(via, request_id)
        return self.is_pending(msg_id) and self.finish(msg_id) is not None

    def note_error(self, msg_id: str | None, ename: Any) -> None:
        """The kernel published an error for `msg_id`: if it is what runs, its
        outcome is an error even before the reply says so."""
        if (
            self.active is not None
            and msg_id is not None
            and self.active.msg_id == bounded_id(msg_id)
        ):
            self.active.error_name = ename if isinstance(ename, str) else ""

    def _drop_submitted_before(self, entry: QueueEntry) -> None:
        stale = []
        for msg_id, other in self._pending.items():  # in the order submitted
            if other.seq is None or entry.seq is None or other.seq > entry.seq:
                break
            if other.client_session_id == entry.client_session_id:
                stale.append(msg_id)
        for msg_id in stale:
            self._remember_finished(msg_id)
            del self._pending[msg_id]

    def finish(self, msg_id: object) -> QueueEntry | None:
        """The kernel finished `msg_id` (or replied to it): it leaves the queue.
        Returns the entry, or None when it was not queued (or already finished)."""
        msg_id = bounded_id(msg_id)
        self._remember_finished(msg_id)
        entry: QueueEntry | None
        if self.active is not None and self.active.msg_id == msg_id:
            entry, self.active = self.active, None
        else:
            entry = self._pending.pop(msg_id, None)
            if entry is None:
                if self._overflow.pop(msg_id, None) is not None:
                    self.version += 1  # one fewer counted
                return None
        self.version += 1
        return entry

    def _remember_finished(self, msg_id: str) -> None:
        if msg_id in self._finished:
            return
        self._finished.add(msg_id)
        self._finished_order.append(msg_id)
        if len(self._finished_order) > self.FINISHED_MEMORY:
            self._finished.discard(self._finished_order.popleft())

    def clear(self) -> bool:
        changed = self.active is not None or bool(self._pending) or bool(self._overflow)
        if changed:
            self.version += 1
        self.active = None
        self._pending.clear()
        self._overflow.clear()
        self._finished.clear()
        self._finished_order.clear()
        return changed
