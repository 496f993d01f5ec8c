"""The store's own thread: every read and write of the file happens here, so
the event loop never waits on the disk or on another server's lock.

The loop hands it a batch of what it learned (`submit`) every write
interval; the thread writes each batch in one transaction, so a SIGKILL
loses at most the last interval. At start it opens the file at once,
records the kernels of servers that died without stopping as
`server_lost`, and hands back what earlier runs left (`on_loaded`; None
when nothing will come). A file that is missing is made; one that is
corrupt is moved aside and made anew; one that is read-only, locked, from a
newer version or refused (`files.py`) is said once in the log, and the
server carries on with what it has in memory.

Whatever fails, the thread goes on: a row SQLite would refuse is dropped
and counted (`skipped`), a write that fails is said once per cause and tried
again, and the server's stop waits for the last write a bounded time.
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
_LOCKED = (
    "the store %s is locked by another process; what the server learns is "
    "kept in memory until it is free."
)
_IN_MEMORY = "what the server learns is kept in memory only."


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
        on_loaded: Callable[[Loaded | None], None],
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
        self._pending = Batch()
        self._next_open = self._last_write = self._last_prune = 0.0
        # What the status of the store is, for the log and the tests.
        self.writable = False
        self.gave_up = False
        self.failing = False  # the last write failed
        self.written = 0  # batches written
        self.dropped = 0  # rows dropped while the file could not be written
        self.skipped = 0  # rows SQLite would have refused
        self.idle = threading.Event()  # set after each pass with nothing left to write

    # -- from the event loop ----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        if len(batch):
            self.idle.clear()
            self._queue.put(batch)

    def stop(self, final: Batch, how: str, timeout: float = 5.0) -> bool:
        """Write `final`, say the server stopped (`how`), close; waits up to
        `timeout` seconds (a file locked or failing longer is left to its
        thread, which dies with the process). Whether it finished."""
        if not self._thread.is_alive():
            return True
        self._queue.put(final)
        self._queue.put((_STOP, how, time.monotonic() + timeout))
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- in the thread ---------------------------------------------------------------

    def _say(self, kind: str, message: str, *args: object) -> None:
        """Log `message` once per kind of trouble (again once it was over)."""
        if kind not in self._said:
            self._said.add(kind)
            self.log.warning("Active sessions: " + message, *args)

    def _run(self) -> None:
        wait = 0.0  # the first pass opens the file at once: requests wait on it
        while True:
            stop: tuple[object, ...] | None = None
            try:
                item: object = self._queue.get(timeout=wait) if wait else self._queue.get_nowait()
            except queue.Empty:
                item = None
            wait = self.interval
            while item is not None:
                if isinstance(item, Batch):
                    self._pending.merge(item)
                elif isinstance(item, tuple) and item[0] is _STOP:
                    stop = item
                    # What is left to write must fit in the time the stop waits.
                    left = max(0.0, item[2] - time.monotonic()) / 2
                    self._guarded("stop", functools.partial(self.database.wait_at_most, left))
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            try:
                self._pass()
            except Exception as err:  # the thread must go on, or batches pile up unread
                self._say(f"pass: {err!r}", "the store %s failed (%r).", self.database.path, err)
            if stop is not None:
                self._stop(str(stop[1]))
                return
            if not len(self._pending):
                self.idle.set()

    def _pass(self) -> None:
        now = time.monotonic()
        if not self.writable and not self.gave_up and now >= self._next_open:
            if not self._open():
                self._next_open = now + self.RETRY
            if self.gave_up:
                self._hand_back(None)
        if self.writable and (len(self._pending) or now - self._last_write >= self.HEARTBEAT):
            if self._write(self._pending):
                self._pending = Batch()
                self._last_write = now
        if self.writable and now - self._last_prune >= self.PRUNE:
            self._guarded("prune", lambda: self.database.prune(self._limits()))
            self._last_prune = now
        if not self.writable or self.failing:
            self.dropped += self._pending.cap(self.PENDING_MAX)

    def _stop(self, how: str) -> None:
        if self.writable:
            stopped = self.database.stopped
            self._guarded("stop", lambda: stopped(self.server.server_id, how))
        self._guarded("close", self.database.close)
        self.idle.set()

    def _write(self, batch: Batch) -> bool:
        for why, count in batch.drop_unwritable().items():
            self.skipped += count
            self._say(f"skip: {why}", "a record could not be stored (%s); skipped.", why)
        ok = self._guarded(
            "write", lambda: self.database.write(self.server.server_id, batch, self._limits())
        )
        if ok:
            self.written += 1
            if self.failing:
                self.log.info("Active sessions: the store %s is written again.", self.database.path)
                self.failing = False
            # Said again if it happens again.
            self._said = {k for k in self._said if k != "locked" and not k.startswith("write")}
        return ok

    def _guarded(self, what: str, work: Callable[[], object]) -> bool:
        try:
            work()
            return True
        except Exception as err:  # SQLite's, and any other: the thread goes on
            if isinstance(err, sqlite3.Error) and is_locked(err):
                self._say("locked", _LOCKED, self.database.path)
            else:
                # Once per cause: a write that keeps failing is tried every interval.
                self._say(
                    f"{what}: {err!r}",
                    "could not %s the store %s (%s).",
                    what,
                    self.database.path,
                    err,
                )
            if what == "write":
                self.failing = True
            return False

    def _hand_back(self, loaded: Loaded | None) -> None:
        try:
            self._on_loaded(loaded)
        except Exception:
            self.log.exception("Active sessions: could not hand back what the store kept")

    def _open(self) -> bool:
        """Open the file and read back what it keeps; False when it cannot be
        used now (`gave_up`: nor later)."""
        if not self._open_file():
            return False
        self.writable = True
        limits = self._limits()
        loaded = Loaded([], [], 0, 0)
        path = self.database.path
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
        self._hand_back(loaded)
        return True

    def _open_file(self) -> bool:
        path = self.database.path
        try:
            self.database.open()
            return True
        except Refused as err:
            self._say("refused", "the store %s is refused: %s; " + _IN_MEMORY, path, err)
        except NewerSchema as err:
            self._say("newer", "the store %s is of a newer version (%s); not used.", path, err)
        except sqlite3.DatabaseError as err:
            if is_locked(err):
                self._say("locked", _LOCKED, path)
                return False
            if not is_corrupt(err):
                self._say("open", "cannot write the store %s (%s); " + _IN_MEMORY, path, err)
            else:
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
                else:
                    self._say(
                        "corrupt",
                        "the store %s was corrupt (%s); moved it aside to %s and started "
                        "a new one.",
                        path,
                        err,
                        aside,
                    )
                    return self._open_file()
        except OSError as err:
            self._say("open", "cannot make the store %s (%s); " + _IN_MEMORY, path, err)
        self.gave_up = True
        return False
