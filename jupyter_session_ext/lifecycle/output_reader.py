"""Each local kernel's stdout and stderr, read off the event loop.

A kernel launched with stock Jupyter writes straight to the server's own
stdout and stderr (its terminal, its log). With capture on, each process
writes into pipes of ours instead, and one thread for every kernel reads
them, copies each byte through to where it would have gone (the server's
fd 1 or 2, at once, in order) and keeps the last of it (`Tail`). The thread
only ever blocks where the kernel itself would have: on a server stream
that does not take more. Its cost is a read and a write per chunk of up to
64 KB, and the tail's copy of it.
"""

from __future__ import annotations

import logging
import os
import select
import selectors
import threading
from collections import deque

CHUNK = 65536


class Tail:
    """What one process wrote last on its streams, in the order read:
    at most `limit` bytes are kept (up to twice that between cuts)."""

    def __init__(self, limit: int) -> None:
        self.lock = threading.Lock()  # held only to read a pipe and keep what came
        self.limit = max(1, limit)
        self._data = bytearray()
        self.dropped = 0  # bytes dropped from the front
        self.total = 0
        # Its pipes' read ends not at their end yet, and the server's stream
        # each is copied to.
        self.fds: dict[int, int] = {}

    def add(self, data: bytes) -> None:
        """(Under `lock`.)"""
        self._data += data
        self.total += len(data)
        if len(self._data) > 2 * self.limit:
            # Cut once per `limit` bytes at most: linear in what came.
            cut = len(self._data) - self.limit
            del self._data[:cut]
            self.dropped += cut

    def snapshot(self) -> tuple[bytes, bool]:
        """The last `limit` bytes, and whether anything before them is gone."""
        with self.lock:
            kept = len(self._data)
            return bytes(self._data[-self.limit :]), self.dropped > 0 or kept > self.limit


class OutputReader:
    """The thread that reads every captured pipe. `watch` and `drain` are
    called on the event loop; the thread alone forwards and closes."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._added: list[tuple[int, Tail, int]] = []
        # Bytes `drain` read on the loop, for the thread to forward in turn.
        self._forward_later: deque[tuple[int, bytes]] = deque()
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1
        self._closing = False
        self._broken: set[int] = set()  # server streams that refused a write

    def watch(self, tail: Tail, fd: int, target: int) -> None:
        """Read `fd` (a pipe's read end, now ours to close) into `tail`,
        copying it to the server's `target` fd."""
        os.set_blocking(fd, False)
        with self._lock:
            with tail.lock:
                tail.fds[fd] = target
            self._added.append((fd, tail, target))
            self._start()
        self._wake()

    def drain(self, tail: Tail) -> None:
        """Read what `tail`'s pipes hold right now, on the calling thread: a
        process that ended wrote all it will, so its tail is then whole even
        when the thread is behind (blocked on a server stream that does not
        take more). The thread forwards what was read here, after what it
        read itself."""
        later: list[tuple[int, bytes]] = []
        with tail.lock:
            for fd, target in tail.fds.items():
                while True:
                    try:
                        data = os.read(fd, CHUNK)
                    except OSError:  # nothing more now (or a broken pipe)
                        break
                    if not data:
                        break  # at its end: the thread closes it
                    tail.add(data)
                    later.append((target, data))
        if later:
            with self._lock:
                self._forward_later.extend(later)
            self._wake()

    def close(self) -> None:
        """Watch nothing new. The thread goes on copying what the kernels
        still running write (closing a pipe under a kernel would fail its
        writes) and ends with the last of them."""
        with self._lock:
            self._closing = True
        self._wake()

    # -- the thread ---------------------------------------------------------------

    def _start(self) -> None:
        """(Under `_lock`.)"""
        if self._thread is not None and self._thread.is_alive():
            return
        if self._wake_r == -1:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="kernel-output", daemon=True)
        self._thread.start()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up is pending already (or nothing to wake)

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        try:
            while self._round(selector):
                pass
        except Exception:
            self.log.exception("Active sessions: the kernel output reader failed")
        finally:
            selector.close()

    def _round(self, selector: selectors.BaseSelector) -> bool:
        events = selector.select()
        # What the loop drained first: it was read before anything read now.
        events.sort(key=lambda event: event[0].data is not None)
        for key, _ in events:
            if key.data is None:
                if not self._woken(selector):
                    return False
                continue
            tail, target = key.data
            fd = int(key.fd)
            with tail.lock:
                try:
                    data = os.read(fd, CHUNK)
                except BlockingIOError:
                    continue  # drained on the loop meanwhile
                except OSError:
                    data = b""
                if data:
                    tail.add(data)
                else:
                    # Every writer is gone: the process and what it started.
                    selector.unregister(fd)
                    del tail.fds[fd]
                    os.close(fd)
            if data:
                self._forward(target, data)
        return True

    def _woken(self, selector: selectors.BaseSelector) -> bool:
        """Take what the loop handed over; False once closed and idle."""
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            added, self._added = self._added, []
            later = list(self._forward_later)
            self._forward_later.clear()
            closing = self._closing
        for fd, tail, target in added:
            selector.register(fd, selectors.EVENT_READ, (tail, target))
        for target, data in later:
            self._forward(target, data)
        if closing and len(selector.get_map()) <= 1:
            with self._lock:
                if not self._added:
                    self._thread = None
                    return False
        return True

    def _forward(self, target: int, data: bytes) -> None:
        """Write `data` to the server's `target` stream, as the kernel would
        have: blocking while the stream does not take more."""
        if target in self._broken:
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(target, view) :]
            except BlockingIOError:
                # A stream someone made non-blocking: the kernel's own write
                # would have failed the same. Wait a moment, then let go.
                if not select.select([], [target], [], 0.5)[1]:
                    return
            except InterruptedError:
                continue
            except OSError as err:
                # The server's stream is gone (closed, or its reader): the
                # kernel's writes would have failed. Keep the tails.
                self._broken.add(target)
                self.log.warning(
                    "Active sessions: kernels' output no longer reaches the server's fd %d (%s)",
                    target,
                    err.strerror,
                )
                return
