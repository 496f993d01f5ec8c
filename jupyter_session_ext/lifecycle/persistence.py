"""What the server learns, kept across its restarts: the bridge between the
running server and the store (`store/`).

Every write interval the event loop gathers what changed into one batch
for the store's thread (`learned.py`); it never touches the file itself. At
start, what earlier runs left comes back: ended kernels (with their
executions) into `EndedSessions`, cell durations into `NotebookDurations`;
a server that died without stopping has its kernels recorded as
`server_lost`. Until then, requests that answer from the store wait for it,
a bounded time (`wait_read`). Whatever the store does, the server's stop
goes on within `stop_timeout`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psutil
from jupyter_core.paths import jupyter_data_dir
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Float, Integer, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from ..state.changes import Changes
from ..state.durations import NotebookDurations
from ..state.ended import SERVER_LOST, SERVER_STOPPED, EndedKernel
from ..state.record import TrackedKernel
from ..store.batch import Batch, Limits, Loaded, Server
from ..store.writer import StoreWriter
from .ended import EndedSessions
from .learned import Learned

STORE_NAME = "active_sessions.db"


def _pid_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


class SessionStore(LoggingConfigurable):
    path = Unicode(
        None,
        allow_none=True,
        help=f"""The store of what the server learns (ended kernels, their
        executions, how long each notebook's cells took), kept across restarts:
        an SQLite file. None (the default) is `{STORE_NAME}` in the Jupyter
        data directory (`jupyter --data-dir`). Several servers of one user may
        share it. An empty string keeps everything in memory only.""",
    ).tag(config=True)

    def store_path(self) -> Path | None:
        """Where the store is; None when it is off."""
        if self.path is None:
            return Path(jupyter_data_dir()) / STORE_NAME
        return Path(self.path).expanduser() if self.path else None

    cells_per_notebook = Integer(
        1000, help="Cell durations kept per notebook (for `expected_seconds`)."
    ).tag(config=True)

    notebooks_max = Integer(
        200, help="Notebooks whose cell durations are kept (the least recently run go first)."
    ).tag(config=True)

    write_interval = Float(
        0.5,
        help="""Seconds between writes to the store: what a SIGKILL of the
        server can lose at most.""",
    ).tag(config=True)

    lost_after = Float(
        60.0,
        help="""Seconds without a sign of life after which a server of another
        host sharing the store counts as lost (on this host, a server whose
        process is gone is lost at once).""",
    ).tag(config=True)

    read_timeout = Float(
        5.0,
        help="""Seconds after the server starts during which a request that
        answers from the store (ended kernels, an ended kernel's history) waits
        for the store to be read; after that it answers at once with what is
        known, marked `"complete": false` until the store is read.""",
    ).tag(config=True)

    stop_timeout = Float(
        5.0,
        help="""Seconds the server's stop waits for the store's last write; a
        file locked or failing longer is left (what the last write interval
        learned is lost, and the next start records the kernels as
        `server_lost`).""",
    ).tag(config=True)

    @validate("cells_per_notebook", "notebooks_max")
    def _check_count(self, proposal: Any) -> int:
        if proposal.value < 1:
            raise TraitError(f"SessionStore.{proposal.trait.name} must be 1 or more.")
        return int(proposal.value)

    @validate("write_interval", "lost_after", "read_timeout", "stop_timeout")
    def _check_seconds(self, proposal: Any) -> float:
        if proposal.value <= 0:
            raise TraitError(f"SessionStore.{proposal.trait.name} must be more than 0 seconds.")
        return float(proposal.value)

    def __init__(
        self,
        kernels: Mapping[str, TrackedKernel],
        ended: EndedSessions,
        durations: NotebookDurations,
        history_length: Callable[[], int],
        changes: Changes,
        **kwargs: Any,
    ) -> None:
        """Listens to `changes`, and tells it of what the store changes."""
        super().__init__(**kwargs)
        changes.listen(self.changed)
        self._changes = changes
        self._kernels = kernels
        self._ended = ended
        self._durations = durations
        self._history_length = history_length
        self._durations.cells_per_notebook = self.cells_per_notebook
        self._durations.notebooks = self.notebooks_max
        self._learned = Learned(kernels, self._say)
        self._writer: StoreWriter | None = None
        self._ticker: PeriodicCallback | None = None
        self._loop: IOLoop | None = None
        self.server_id = uuid.uuid4().hex
        self.loaded: Loaded | None = None  # set once what earlier runs left is back
        # Set once what earlier runs left is back, or once nothing will come.
        self._read = asyncio.Event()
        self._read_until = 0.0  # (monotonic) until when requests wait for it
        self._said: set[str] = set()

    @property
    def writer(self) -> StoreWriter | None:
        return self._writer

    def limits(self) -> Limits:
        return Limits(
            history_length=self._history_length(),
            ended_max=self._ended.ended_max,
            ended_retention=self._ended.ended_retention,
            cells_per_notebook=self.cells_per_notebook,
            notebooks=self.notebooks_max,
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Open the store in its thread. Needs the running loop."""
        path = self.store_path()
        if path is None:
            self._read.set()
        if path is None or self._writer is not None:
            return
        self._read_until = time.monotonic() + self.read_timeout
        self._loop = IOLoop.current()
        pid = os.getpid()
        server = Server(self.server_id, socket.gethostname(), pid, _pid_started(pid))
        self._writer = StoreWriter(
            path,
            server,
            self.limits,
            self._is_dead,
            self._loaded_in_thread,
            self.log,
            interval=self.write_interval,
        )
        self._writer.start()
        self._ticker = PeriodicCallback(self.flush, self.write_interval * 1000)
        self._ticker.start()

    def stop(self, server_stopping: bool) -> None:
        """Write what is left and close. When the server stops, its kernels were
        just recorded as `server_stopped`; otherwise (an extension unloaded)
        they live on, and leave the store without an end."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        writer, self._writer = self._writer, None
        if writer is None:
            return
        # Never raises, never waits long: the server's stop goes on whatever
        # the store does (jupyter_server stops nothing after a raising hook).
        try:
            final = self._learned.batch()
        except Exception as err:
            self._say(err, "could not gather what is left to write")
            final = Batch()
        how = SERVER_STOPPED if server_stopping else "unloaded"
        if not writer.stop(final, how, self.stop_timeout):
            self.log.warning(
                "Active sessions: the store %s did not finish its last write within "
                "%g seconds; left behind.",
                writer.database.path,
                self.stop_timeout,
            )
        skipped = self._learned.skipped + writer.skipped
        if skipped or writer.dropped:
            self.log.warning(
                "Active sessions: %d records could not be stored and were skipped; %d were "
                "dropped while the store could not be written.",
                skipped,
                writer.dropped,
            )

    async def wait_read(self) -> bool:
        """Whether what earlier runs left is back (or nothing will come),
        waiting for it until `read_timeout` seconds after the start."""
        left = self._read_until - time.monotonic()
        if not self._read.is_set() and left > 0:
            try:
                await asyncio.wait_for(self._read.wait(), left)
            except asyncio.TimeoutError:
                pass
        return self._read.is_set()

    def _say(self, err: Exception, what: str) -> None:
        """Log `what` went wrong once per cause: flush runs every interval."""
        cause = f"{what}: {err!r}"
        if cause not in self._said:
            self._said.add(cause)
            self.log.warning("Active sessions: %s (%r).", what, err)

    def _is_dead(self, host: str, pid: int, pid_started: float | None, last_seen: float) -> bool:
        """Whether the server of a row is gone (asked in the store's thread)."""
        if host == socket.gethostname():
            if not psutil.pid_exists(pid):
                return True
            started = _pid_started(pid)
            # The same pid, another process: the server's is gone.
            return (
                started is not None and pid_started is not None and abs(started - pid_started) > 1
            )
        return time.time() - last_seen > self.lost_after

    def _loaded_in_thread(self, loaded: Loaded | None) -> None:
        if self._loop is not None:
            self._loop.add_callback(self._restore, loaded)

    def _restore(self, loaded: Loaded | None) -> None:
        self._read.set()
        if loaded is None:
            return  # the store cannot be used: nothing will come
        self._ended.restore([r for r in loaded.ended if r.session_id not in self._kernels])
        self._durations.restore(loaded.durations)
        self.loaded = loaded
        self._expect_again()
        if loaded.lost:
            self.log.info(
                "Active sessions: %d kernels of a server that stopped without saying so "
                "are recorded as %s.",
                loaded.lost,
                SERVER_LOST,
            )

    def _expect_again(self) -> None:
        """Cells sent before the store was read expected nothing: they may now."""
        for tracked in self._kernels.values():
            queue = tracked.state.queue
            found = False
            for entry in (queue.active, *queue.pending):
                if entry is not None and entry.expected_seconds is None:
                    entry.expected_seconds = self._durations.expected_for(tracked, entry.cell_id)
                    found = found or entry.expected_seconds is not None
            if found:
                self._changes.changed(tracked, "queue")

    # -- what the loop learned ------------------------------------------------------------

    def changed(self, tracked: TrackedKernel, actions: tuple[str, ...]) -> None:
        """A `changes.Changes` listener (once per visible change, not per message)."""
        if "removed" in actions:
            self._learned.removed(tracked.kernel_id)
        elif self._writer is not None:
            self._learned.changed(tracked.kernel_id)

    def ended(self, record: EndedKernel) -> None:
        """An `EndedSessions` listener: a kernel is gone."""
        if self._writer is not None:
            self._learned.ended(record)

    def flush(self) -> None:
        """Hand what changed since the last flush to the store's thread."""
        if self._writer is None:
            return
        try:
            self._writer.submit(self._learned.batch())
        except Exception as err:  # (the loop would log it every interval)
            self._say(err, "could not gather what to write to the store")
