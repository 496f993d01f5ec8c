"""The store's own thread: every read and write of the file happens here, so
the event loop never waits on the disk or on another server's lock.

The loop hands it a batch of what it learned (`submit`) every write
interval; the thread writes each batch in one transaction, so a SIGKILL
loses at most the last interval. At start it opens the file, records the
kernels of servers that died without stopping as `server_lost`, and hands
back what earlier runs left (`on_loaded`). A file that is missing is made;
one that is corrupt is moved aside and made anew; one that is read-only,
locked, from a newer version or refused (`files.py`) is said once in the
log, and the server carries on with what it has in memory.
"""

from __future__ import annotations

import functools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .batch import Batch, Limits, Loaded, Server
from .database import Database, NewerSchema, is_corrupt, is_locked
from .files import Refused

_STOP = object()


class StoreWriter:
    # Seconds between tries to open a file that was locked, and between
    # prunings of what the bounds no longer keep.
    RETRY = 5.0
    PRUNE = 60.0
    # Seconds between writes of "still alive" when there is nothing else.
    HEARTBEAT = 2.0
    # Rows of each kind held while the file cannot be written.
    PENDING_MAX = 10_000

    def __init__(
        self,
        path: Path,
        server: Server,
        limits: Callable[[], Limits],
        is_dead: Callable[[str, int, float | None, float], bool],
        on_loaded: Callable[[Loaded], None],
        log: logging.Logger,
        interval: float = 0.5,
    ) -> None:
        self.database = Database(path)
        self.server = server
        self._limits = limits
        self._is_dead = is_dead
        self._on_loaded = on_loaded
        self.log = log
        self.interval = interval
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="active-sessions-store", daemon=True)
        self._said: set[str] = set()
        # What the status of the store is, for the log and the tests.
        self.writable = False
        self.gave_up = False
        self.written = 0  # batches written
        self.dropped = 0  # rows dropped while the file could not be written
        self.idle = threading.Event()  # set after each pass with nothing left to write

    # -- from the event loop ----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        if len(batch):
            self.idle.clear()
            self._queue.put(batch)

    def stop(self, final: Batch, how: str, timeout: float = 10.0) -> None:
        """Write `final`, say the server stopped (`how`), close; waits up to
        `timeout` seconds (a locked file is left to its thread)."""
        if not self._thread.is_alive():
            return
        self._queue.put(final)
        self._queue.put((_STOP, how))
        self._thread.join(timeout)

    # -- in the thread ---------------------------------------------------------------

    def _say(self, kind: str, message: str, *args: object) -> None:
        """Log `message` once per kind of trouble, and again after it was over."""
        if kind not in self._said:
            self._said.add(kind)
            self.log.warning("Active sessions: " + message, *args)

    def _run(self) -> None:
        pending = Batch()
        next_open = 0.0
        last_write = last_prune = 0.0
        while True:
            stop_how = None
            try:
                item: object = self._queue.get(timeout=self.interval)
            except queue.Empty:
                item = None
            while item is not None:
                if isinstance(item, Batch):
                    pending.merge(item)
                elif isinstance(item, tuple) and item[0] is _STOP:
                    stop_how = item[1]
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            if not self.writable and not self.gave_up and now >= next_open:
                if not self._open():
                    next_open = now + self.RETRY
            if self.writable and (len(pending) or now - last_write >= self.HEARTBEAT):
                if self._write(pending):
                    pending = Batch()
                    last_write = now
            if self.writable and now - last_prune >= self.PRUNE:
                self._guarded("prune", lambda: self.database.prune(self._limits()))
                last_prune = now
            if not self.writable:
                self.dropped += pending.cap(self.PENDING_MAX)
            if stop_how is not None:
                if self.writable:
                    stopped = functools.partial(
                        self.database.stopped, self.server.server_id, str(stop_how)
                    )
                    self._guarded("stop", stopped)
                self.database.close()
                self.idle.set()
                return
            if not len(pending):
                self.idle.set()

    def _write(self, batch: Batch) -> bool:
        ok = self._guarded(
            "write", lambda: self.database.write(self.server.server_id, batch, self._limits())
        )
        if ok:
            self.written += 1
            self._said.discard("locked")  # said again if it happens again
        return ok

    def _guarded(self, what: str, work: Callable[[], object]) -> bool:
        try:
            work()
            return True
        except sqlite3.Error as err:
            if is_locked(err):
                self._say(
                    "locked",
                    "the store %s is locked by another process; what the server "
                    "learns is kept in memory until it is free.",
                    self.database.path,
                )
            else:
                self._say(what, "could not %s the store %s (%s).", what, self.database.path, err)
            return False

    def _open(self) -> bool:
        path = self.database.path
        try:
            self.database.open()
        except Refused as err:
            self._say(
                "refused",
                "the store %s is refused: %s; what the server learns is kept in memory only.",
                path,
                err,
            )
            self.gave_up = True
            return False
        except NewerSchema as err:
            self._say("newer", "the store %s is of a newer version (%s); not used.", path, err)
            self.gave_up = True
            return False
        except sqlite3.DatabaseError as err:
            if is_locked(err):
                self._say(
                    "locked",
                    "the store %s is locked by another process; what the server "
                    "learns is kept in memory until it is free.",
                    path,
                )
                return False
            if is_corrupt(err):
                try:
                    aside = self.database.move_aside()
                except OSError as move_err:
                    self._say(
                        "corrupt",
                        "the store %s is corrupt (%s) and cannot be moved aside (%s); not used.",
                        path,
                        err,
                        move_err,
                    )
                    self.gave_up = True
                    return False
                self._say(
                    "corrupt",
                    "the store %s was corrupt (%s); moved it aside to %s and started a new one.",
                    path,
                    err,
                    aside,
                )
                return self._open()
            self._say(
                "open",
                "cannot write the store %s (%s); what the server learns is kept in memory only.",
                path,
                err,
            )
            self.gave_up = True
            return False
        except OSError as err:
            self._say(
                "open",
                "cannot make the store %s (%s); what the server learns is kept in memory only.",
                path,
                err,
            )
            self.gave_up = True
            return False
        self.writable = True
        limits = self._limits()
        loaded = Loaded([], [], 0, 0)
        try:
            self.database.register(self.server)
            lost, bad_lost = self.database.claim_lost(self.server.server_id, self._is_dead)
            self.database.prune(limits)
            loaded = self.database.load(limits)
            loaded.lost, loaded.bad_rows = lost, loaded.bad_rows + bad_lost
        except sqlite3.Error as err:
            self._say("load", "could not read the store %s (%s).", path, err)
        if loaded.bad_rows:
            self._say(
                "bad",
                "%d rows of the store %s are not records of ours; skipped.",
                loaded.bad_rows,
                path,
            )
        try:
            self._on_loaded(loaded)
        except Exception:
            self.log.exception("Active sessions: could not hand back what the store kept")
        return True
