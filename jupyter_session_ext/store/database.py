"""The SQLite file behind the store: its schema and migrations, what one
write batch does, what a start reads back, and the servers that died
without stopping.

Used from the store's writer thread only (`writer.py`): nothing here runs on
the event loop. The file is in WAL mode, so one server's reads never wait on
another's writes, and every write is one short `BEGIN IMMEDIATE` transaction,
so two servers sharing the file wait their turn (`busy_timeout`) instead of
failing with "database is locked".
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..state.ended import SERVER_LOST, EndedKernel
from ..state.history import FinishedExecution
from . import files, rows
from .batch import Batch, Limits, Loaded, Server

# Each version's statements; the file's `PRAGMA user_version` says which ran.
# Add a version, never edit one that shipped.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE servers (
            server_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
            pid_started REAL, started REAL NOT NULL, last_seen REAL NOT NULL,
            stopped REAL, how TEXT)""",
        # A live kernel as it would be recorded were its server lost.
        """CREATE TABLE kernels (
            kernel_id TEXT PRIMARY KEY, server_id TEXT NOT NULL, record TEXT NOT NULL)""",
        "CREATE INDEX kernels_by_server ON kernels (server_id)",
        # Finished executions, numbered per kernel from 1.
        """CREATE TABLE executions (
            kernel_id TEXT NOT NULL, number INTEGER NOT NULL, execution TEXT NOT NULL,
            PRIMARY KEY (kernel_id, number))""",
        """CREATE TABLE ended (
            kernel_id TEXT PRIMARY KEY, server_id TEXT NOT NULL, ended REAL NOT NULL,
            record TEXT NOT NULL)""",
        "CREATE INDEX ended_by_time ON ended (ended)",
        """CREATE TABLE durations (
            notebook_path TEXT NOT NULL, cell_id TEXT NOT NULL, seconds REAL NOT NULL,
            at REAL NOT NULL, PRIMARY KEY (notebook_path, cell_id))""",
        "CREATE INDEX durations_by_time ON durations (notebook_path, at)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class NewerSchema(Exception):
    """The file was written by a newer version of the extension."""


def is_corrupt(err: sqlite3.DatabaseError) -> bool:
    text = str(err).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def is_locked(err: sqlite3.Error) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


class Database:
    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.connection: sqlite3.Connection | None = None

    # -- opening ------------------------------------------------------------------

    def open(self) -> None:
        """Open (making it and its folder if need be), check and migrate. Raises
        `files.Refused` for a file it will not use, and sqlite3 errors as they
        come: the writer decides what each means."""
        files.make_folder(self.path.parent)
        checked = files.prepare(self.path)
        # Autocommit (isolation_level None): every transaction is explicit.
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=True
        )
        try:
            # (The first statement opens the file, and WAL mode its side files.)
            connection.execute("PRAGMA journal_mode=WAL")
            files.same_file(self.path, checked)
            # WAL with NORMAL: a commit survives the process being killed
            # (only a power loss may take the last ones).
            connection.execute("PRAGMA synchronous=NORMAL")
            check = connection.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
            self._migrate(connection)
        except BaseException:
            connection.close()
            raise
        self.connection = connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise NewerSchema(f"schema version {version}, this version knows {SCHEMA_VERSION}")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise

    def wait_at_most(self, seconds: float) -> None:
        """Wait on another server's lock at most `seconds` from now on."""
        if self.connection is not None:
            self.connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def move_aside(self) -> Path:
        """Rename a corrupt file (and its WAL) out of the way; where it went."""
        self.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.rename(Path(f"{aside}{suffix}"))
        return aside

    def _transaction(self) -> sqlite3.Connection:
        assert self.connection is not None
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        db = self._transaction()
        try:
            result = work(db)
            db.execute("COMMIT")
            return result
        except BaseException:
            _rollback(db)
            raise

    # -- this server ----------------------------------------------------------------

    def register(self, server: Server) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO servers VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    server.server_id,
                    server.host,
                    server.pid,
                    server.pid_started,
                    server.started,
                    time.time(),
                ),
            )
        )

    def stopped(self, server_id: str, how: str) -> None:
        """This server stopped (or stopped recording): its live rows go."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE servers SET stopped = ?, how = ?, last_seen = ? WHERE server_id = ?",
                (time.time(), how, time.time(), server_id),
            )
            db.execute("DELETE FROM kernels WHERE server_id = ?", (server_id,))

        self._run(work)

    # -- writing ----------------------------------------------------------------------

    def write(self, server_id: str, batch: Batch, limits: Limits) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR REPLACE INTO kernels VALUES (?, ?, ?)",
                [(k, server_id, record) for k, record in batch.kernels.items()],
            )
            db.executemany("INSERT OR REPLACE INTO executions VALUES (?, ?, ?)", batch.executions)
            db.executemany(
                "INSERT OR REPLACE INTO ended VALUES (?, ?, ?, ?)",
                [(k, server_id, when, record) for k, when, record in batch.ended],
            )
            db.executemany(
                "DELETE FROM kernels WHERE kernel_id = ?", [(k,) for k, _, _ in batch.ended]
            )
            newest: dict[str, int] = {}
            for kernel_id, number, _ in batch.executions:
                newest[kernel_id] = max(number, newest.get(kernel_id, 0))
            db.executemany(
                "DELETE FROM executions WHERE kernel_id = ? AND number <= ?",
                [(k, n - limits.history_length) for k, n in newest.items()],
            )
            db.executemany("INSERT OR REPLACE INTO durations VALUES (?, ?, ?, ?)", batch.durations)
            db.executemany(
                """DELETE FROM durations WHERE notebook_path = ? AND rowid NOT IN (
                    SELECT rowid FROM durations WHERE notebook_path = ?
                    ORDER BY at DESC LIMIT ?)""",
                [(p, p, limits.cells_per_notebook) for p in {d[0] for d in batch.durations}],
            )
            db.execute(
                "UPDATE servers SET last_seen = ? WHERE server_id = ?", (time.time(), server_id)
            )

        self._run(work)

    def prune(self, limits: Limits) -> None:
        """Drop what the bounds no longer keep."""

        def work(db: sqlite3.Connection) -> None:
            horizon = time.time() - limits.ended_retention
            db.execute("DELETE FROM ended WHERE ended < ?", (horizon,))
            db.execute(
                """DELETE FROM ended WHERE kernel_id NOT IN (
                    SELECT kernel_id FROM ended ORDER BY ended DESC LIMIT ?)""",
                (limits.ended_max,),
            )
            db.execute(
                """DELETE FROM executions WHERE kernel_id NOT IN (SELECT kernel_id FROM kernels)
                AND kernel_id NOT IN (SELECT kernel_id FROM ended)"""
            )
            db.execute(
                """DELETE FROM durations WHERE notebook_path NOT IN (
                    SELECT notebook_path FROM durations GROUP BY notebook_path
                    ORDER BY max(at) DESC LIMIT ?)""",
                (limits.notebooks,),
            )
            db.execute("DELETE FROM servers WHERE stopped IS NOT NULL AND stopped < ?", (horizon,))

        self._run(work)

    # -- a start ------------------------------------------------------------------------

    def claim_lost(
        self, server_id: str, is_dead: Callable[[str, int, float | None, float], bool]
    ) -> tuple[int, int]:
        """Record the live kernels of every server that died without stopping
        as `server_lost`, when it was last seen alive. Each dead server is
        claimed once, by whichever server sees it first. (kernels, bad rows)."""
        assert self.connection is not None
        others = self.connection.execute(
            "SELECT server_id, host, pid, pid_started, last_seen FROM servers "
            "WHERE stopped IS NULL AND server_id != ?",
            (server_id,),
        ).fetchall()
        lost = bad = 0
        for other, host, pid, pid_started, last_seen in others:
            if not is_dead(host, pid, pid_started, last_seen):
                continue
            count, rejected = self._run(
                functools.partial(_claim, server_id=other, last_seen=last_seen)
            )
            lost += count
            bad += rejected
        return lost, bad

    def load(self, limits: Limits) -> Loaded:
        assert self.connection is not None
        db = self.connection
        horizon = time.time() - limits.ended_retention
        ended: list[EndedKernel] = []
        bad = 0
        for kernel_id, record in db.execute(
            "SELECT kernel_id, record FROM ended WHERE ended >= ? ORDER BY ended DESC LIMIT ?",
            (horizon, limits.ended_max),
        ):
            executions, rejected = self._executions(kernel_id, limits.history_length)
            bad += rejected
            try:
                ended.append(rows.ended(record, executions)[0])
            except rows.BadRow:
                bad += 1
        durations = [
            (path, cell, seconds)
            for path, cell, seconds in db.execute(
                "SELECT notebook_path, cell_id, seconds FROM durations ORDER BY at"
            )
            if isinstance(path, str)
            and isinstance(cell, str)
            and isinstance(seconds, float)
            and 0 <= seconds < 1e9
            and len(path) <= rows.TEXT_MAX
            and len(cell) <= 256
        ]
        return Loaded(ended, durations, 0, bad)

    def _executions(self, kernel_id: str, limit: int) -> tuple[tuple[FinishedExecution, ...], int]:
        assert self.connection is not None
        found: list[FinishedExecution] = []
        bad = 0
        for (text,) in self.connection.execute(
            "SELECT execution FROM executions WHERE kernel_id = ? ORDER BY number DESC LIMIT ?",
            (kernel_id, limit),
        ):
            try:
                found.append(rows.execution(text))
            except rows.BadRow:
                bad += 1
        return tuple(found), bad


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back what failed, keeping its error: after some (a full disk, an
    I/O error) SQLite rolled back itself, and ROLLBACK would fail instead."""
    try:
        db.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _claim(db: sqlite3.Connection, server_id: str, last_seen: float) -> tuple[int, int]:
    claimed = db.execute(
        "UPDATE servers SET stopped = ?, how = 'lost' WHERE server_id = ? AND stopped IS NULL",
        (last_seen, server_id),
    ).rowcount
    if not claimed:
        return 0, 0  # another server got there first
    count = bad = 0
    for kernel_id, record in db.execute(
        "SELECT kernel_id, record FROM kernels WHERE server_id = ?", (server_id,)
    ).fetchall():
        try:
            lost = _lost(record, last_seen)
        except rows.BadRow:
            bad += 1
            continue
        db.execute(
            "INSERT OR REPLACE INTO ended VALUES (?, ?, ?, ?)",
            (kernel_id, server_id, last_seen, lost),
        )
        count += 1
    db.execute("DELETE FROM kernels WHERE server_id = ?", (server_id,))
    return count, bad


def _lost(snapshot: str, last_seen: float) -> str:
    """A live kernel's snapshot turned into its record as lost at `last_seen`."""
    record, busy = rows.ended(snapshot)
    when = datetime.fromtimestamp(last_seen, timezone.utc)
    idle = 0 if busy else record.idle_seconds + max(0, int((when - record.ended).total_seconds()))
    record.reason = SERVER_LOST
    record.ended = when
    record.idle_seconds = idle
    return rows.ended_row(record)
