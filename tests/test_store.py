"""The store's own logic on a real SQLite file, without a server: rows back
and forth (and hostile ones refused), bounds, a dead server claimed once,
the cell durations of notebooks, the file's modes and the files it refuses,
and what cannot be written skipped. (tests/test_persistence.py and
tests/test_store_*.py run it inside real servers.)"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jupyter_session_ext.lifecycle.learned import Learned
from jupyter_session_ext.state.durations import NotebookDurations
from jupyter_session_ext.state.ended import EndedKernel
from jupyter_session_ext.state.history import FinishedExecution
from jupyter_session_ext.state.queue import QueueEntry
from jupyter_session_ext.store import rows
from jupyter_session_ext.store.batch import Batch, Limits, Server
from jupyter_session_ext.store.database import Database, NewerSchema
from jupyter_session_ext.store.files import Refused
from jupyter_session_ext.store.writer import StoreWriter

NOW = datetime.now(timezone.utc)


def finished(n: int, cell: str | None = "c", status: str = "ok") -> FinishedExecution:
    entry = QueueEntry(
        msg_id=f"m{n}",
        code=f"x = {n}",
        cell_id=cell,
        submitted=NOW,
        started=NOW,
        execution_count=n,
    )
    return FinishedExecution(entry, NOW + timedelta(seconds=n), float(n), status)


def record(kernel_id: str, reason: str = "shutdown", ended: datetime = NOW) -> EndedKernel:
    return EndedKernel(
        session_id=kernel_id,
        display_name="Python 3",
        kernel_name="python3",
        notebook_path="a.ipynb",
        session_mode="notebook",
        username="me",
        started=NOW - timedelta(hours=1),
        ended=ended,
        reason=reason,
        forced=False,
        by=None,
        exit_code=None,
        signal=None,
        idle_seconds=5,
        last_execution=None,
        recorded=time.monotonic(),
        total=3,
    )


def test_rows_come_back_as_they_went():
    f = finished(2, status="error")
    f.error_name = "ZeroDivisionError"
    f.entry.memory_start_bytes, f.entry.memory_peak_bytes = 100_000_000, 900_000_000
    f.memory_end_bytes = 400_000_000
    back = rows.execution(rows.execution_row(f))
    assert back == f
    r = record("k1", reason="oom")
    r.memory_bytes, r.limit_bytes = 1_900_000_000, 2 * 1024**3
    again, busy = rows.ended(rows.ended_row(r, busy=True), (back,))
    assert busy is True
    assert again.last_execution == back and again.executions == (back,)
    assert (again.session_id, again.reason, again.ended, again.total) == ("k1", "oom", NOW, 3)
    assert (again.memory_bytes, again.limit_bytes) == (1_900_000_000, 2 * 1024**3)


def test_rows_written_before_memory_figures_still_read():
    raw = json.loads(rows.execution_row(finished(1)))
    for name in ("memory_start_bytes", "memory_end_bytes", "memory_peak_bytes"):
        del raw[name]
    back = rows.execution(json.dumps(raw))
    assert (back.entry.memory_start_bytes, back.memory_end_bytes) == (None, None)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "maybe"},
        {"msg_id": 5},
        {"msg_id": ""},
        {"duration_seconds": "long"},
        {"duration_seconds": 1e300},
        {"ended": "yesterday"},
        {"execution_count": True},
        {"code": ["x"]},
        {"memory_end_bytes": -1},
        {"memory_peak_bytes": 2**70},
        {"memory_start_bytes": "1 GB"},
    ],
)
def test_a_hostile_execution_row_is_refused(change):
    raw = json.loads(rows.execution_row(finished(1)))
    with pytest.raises(rows.BadRow):
        rows.execution(json.dumps({**raw, **change}))


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{", "1" * 100, "[" * 100_000 + "]" * 100_000, json.dumps({"reason": "oops"})],
)
def test_what_is_not_a_record_is_refused(text):
    with pytest.raises(rows.BadRow):
        rows.ended(text)


def test_long_strings_are_capped():
    raw = json.loads(rows.ended_row(record("k")))
    raw["display_name"] = "x" * 100_000
    raw["by"] = "y" * 10_000
    back, _ = rows.ended(json.dumps(raw))
    assert len(back.display_name) == rows.TEXT_MAX and len(back.by or "") == 256


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "s.db")
    database.open()
    yield database
    database.close()


def server(sid: str, pid: int = 1) -> Server:
    return Server(sid, "host", pid, None)


def test_executions_are_bounded_per_kernel_and_come_back_newest_first(db):
    db.register(server("s1"))
    limits = Limits(history_length=3)
    batch = Batch(executions=[("k", n, rows.execution_row(finished(n))) for n in range(1, 6)])
    batch.ended.append(("k", NOW.timestamp(), rows.ended_row(record("k"))))
    db.write("s1", batch, limits)
    assert db.connection.execute("SELECT number FROM executions ORDER BY number").fetchall() == [
        (3,),
        (4,),
        (5,),
    ]
    loaded = db.load(limits)
    assert [e.entry.msg_id for e in loaded.ended[0].executions] == ["m5", "m4", "m3"]


def test_ended_kernels_are_bounded_by_count_and_age(db):
    db.register(server("s1"))
    limits = Limits(ended_max=2, ended_retention=3600)
    old = NOW - timedelta(hours=2)
    batch = Batch(
        ended=[
            (f"k{n}", (NOW - timedelta(minutes=n)).timestamp(), rows.ended_row(record(f"k{n}")))
            for n in range(3)
        ]
        + [("old", old.timestamp(), rows.ended_row(record("old", ended=old)))]
    )
    db.write("s1", batch, limits)
    db.prune(limits)
    assert [r.session_id for r in db.load(limits).ended] == ["k0", "k1"]


def test_a_dead_servers_kernels_are_lost_once(db, tmp_path):
    db.register(server("dead", pid=4242))
    seen = time.time() - 30
    at = datetime.fromtimestamp(seen - 10, timezone.utc)  # its last snapshot
    snapshot = rows.ended_row(record("live", reason="server_lost", ended=at))
    db.write("dead", Batch(kernels={"live": snapshot}), Limits())
    db.connection.execute("UPDATE servers SET last_seen = ?", (seen,))
    other = Database(tmp_path / "s.db")
    other.open()
    claims = [
        d.claim_lost(sid, lambda host, pid, started, last: pid == 4242)
        for d, sid in ((db, "me"), (other, "you"))
    ]
    assert claims == [(1, 0), (0, 0)]
    (lost,) = db.load(Limits()).ended
    assert lost.reason == "server_lost"
    assert abs(lost.ended.timestamp() - seen) < 1e-3
    # Idle from its snapshot until the server was last seen.
    assert lost.idle_seconds == 5 + 10
    other.close()


def test_a_file_of_a_newer_version_is_left_alone(tmp_path):
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(NewerSchema):
        Database(path).open()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (99,)


def test_durations_are_bounded_per_notebook_and_in_notebooks():
    d = NotebookDurations(cells_per_notebook=2, notebooks=2)
    for nb in ("a", "b", "c"):
        for cell in ("x", "y", "z"):
            d.remember(nb, cell, 1.0)
    assert d.expected("a", "z") is None  # notebook a went first
    assert d.expected("c", "x") is None  # cell x went first
    assert d.expected("c", "z") == 1.0
    assert len(d) == 4
    # What was learned since the start stands against what the store had.
    d.restore([("c", "z", 9.0), ("c", "w", 2.0)])
    assert d.expected("c", "z") == 1.0 and d.expected("c", "w") == 2.0


def test_durations_learn_only_from_cells_that_ran():
    d = NotebookDurations()
    assert d.learn("a.ipynb", finished(3))
    assert not d.learn("a.ipynb", finished(4, status="aborted"))
    assert not d.learn("a.ipynb", finished(5, cell=None))
    assert not d.learn(None, finished(6))
    assert d.expected("a.ipynb", "c") == 3.0


# -- the file on the disk -------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_folder_the_file_and_its_side_files_are_private(tmp_path):
    tmp_path.chmod(0o755)
    path = tmp_path / "made" / "here" / "s.db"
    database = Database(path)
    database.open()
    database.register(server("s1"))
    assert {p.name: mode(p) for p in tmp_path.rglob("*")} == {
        "made": 0o700,
        "here": 0o700,
        "s.db": 0o600,
        "s.db-wal": 0o600,
        "s.db-shm": 0o600,
    }
    assert mode(tmp_path) == 0o755  # a folder that was there keeps its mode
    database.close()


def test_a_store_of_an_earlier_version_is_made_private(tmp_path):
    path = tmp_path / "s.db"
    earlier = sqlite3.connect(path)
    earlier.execute("PRAGMA journal_mode=WAL")
    earlier.execute("CREATE TABLE t (x)")  # its -wal and -shm stay while it is open
    for part in ("s.db", "s.db-wal", "s.db-shm"):
        (tmp_path / part).chmod(0o644)
    database = Database(path)
    database.open()
    assert [mode(tmp_path / p) for p in ("s.db", "s.db-wal", "s.db-shm")] == [0o600] * 3
    database.close()
    earlier.close()


def made(path: Path, mode: int = 0o600) -> Path:
    path.touch()
    path.chmod(mode)  # (touch's mode goes through the umask)
    return path


def other_owner(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    os.chown(made(path), 65534, 65534)


def link(path: Path) -> None:
    path.symlink_to(made(path.with_name("elsewhere.db")))


PLANTED = {
    "owned by another user": other_owner,
    "writable by the group": lambda p: made(p, 0o660),
    "writable by everyone": lambda p: made(p, 0o606),
    "a symbolic link": link,
    "a FIFO": lambda p: os.mkfifo(p, 0o600),
    "a folder": lambda p: p.mkdir(0o700),
    "a side file that is a link": lambda p: link(p.with_name(p.name + "-wal")),
    "a side file of another user": lambda p: other_owner(p.with_name(p.name + "-shm")),
}


@pytest.mark.parametrize("planted", PLANTED)
def test_a_file_someone_else_could_have_planted_is_refused(tmp_path, planted):
    path = tmp_path / "s.db"
    PLANTED[planted](path)
    before = {p.name: os.lstat(p) for p in tmp_path.iterdir()}
    with pytest.raises(Refused):
        Database(path).open()
    assert {p.name: os.lstat(p) for p in tmp_path.iterdir()} == before  # untouched


# -- what cannot be written ---------------------------------------------------------------


def test_rows_sqlite_would_refuse_are_dropped_and_counted(db):
    db.register(server("s1"))
    good = rows.ended_row(record("good"))
    batch = Batch(
        kernels={"\udc80": good, "live": good},
        executions=[("good", 1, rows.execution_row(finished(1))), ("good", 2**70, "x")],
        ended=[("good", NOW.timestamp(), good), ("bad", float("nan"), good)],
        durations=[("a.ipynb", "c", 1.0, 1.0), ("a.ipynb", "\ud800", 1.0, 1.0)],
    )
    assert batch.drop_unwritable() == {
        "text that is not valid Unicode": 2,
        "a number out of range": 2,
    }
    db.write("s1", batch, Limits())
    count = "SELECT count(*) FROM {}"
    assert [db.connection.execute(count.format(t)).fetchone()[0] for t in TABLES] == [1, 1, 1, 1]


TABLES = ("kernels", "executions", "ended", "durations")


def test_a_record_that_cannot_be_made_into_a_row_is_skipped():
    """A date a client chose that has no UTC form (year 1, east of Greenwich)."""
    bad = finished(2)
    bad.entry.submitted = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    gone = record("k")
    gone.executions, gone.total = (bad, finished(1)), 2
    said: list[str] = []
    learned = Learned({}, lambda err, what: said.append(f"{what}: {err!r}"))
    learned.ended(gone)
    batch = learned.batch()
    assert [k for k, _, _ in batch.ended] == ["k"]
    assert [n for _, n, _ in batch.executions] == [1]
    assert learned.skipped == 1 and len(said) == 1


def test_the_store_thread_skips_what_sqlite_refuses_and_goes_on(tmp_path, caplog):
    loaded = []
    writer = StoreWriter(
        tmp_path / "s.db",
        Server("me", "host", os.getpid(), None),
        Limits,
        lambda *_: False,
        loaded.append,
        logging.getLogger("test"),
        interval=0.05,
    )
    writer.start()
    for n in range(3):
        writer.submit(
            Batch(
                ended=[(f"k{n}", NOW.timestamp(), rows.ended_row(record(f"k{n}")))],
                durations=[("a.ipynb", "\udc80", 1.0, 1.0)],
            )
        )
    assert writer.stop(Batch(), "server_stopped", timeout=30)
    assert len(loaded) == 1 and writer.skipped == 3 and writer.written >= 1
    check = Database(tmp_path / "s.db")
    check.open()
    assert sorted(r.session_id for r in check.load(Limits()).ended) == ["k0", "k1", "k2"]
    check.close()
    skipped = [r for r in caplog.records if "could not be stored" in r.getMessage()]
    assert len(skipped) == 1  # once per cause
