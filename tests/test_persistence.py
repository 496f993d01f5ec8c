"""What survives the server: real servers in subprocesses on one Jupyter data
directory, killed with SIGKILL or stopped cleanly, then started again; the
store's file corrupt, read-only or locked; two servers sharing it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from store_servers import (
    STORE,
    connect,
    ended,
    ended_at_least,
    every_route_answers,
    kill_kernels,
    open_notebook,
    query,
    run_cells,
    said,
    servers,
    session,
    wait_for,
)

from server_process import JupyterServer


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def started(data_dir: Path):
    yield from servers(data_dir)


@pytest.fixture
def read_only():
    """Make a folder read-only for the server: a read-only bind mount when
    root (who ignores file modes), file modes otherwise."""
    made: list[Callable[[], None]] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            for p in [folder, *folder.iterdir()]:
                p.chmod(0o555 if p.is_dir() else 0o444)
            made.append(lambda: folder.chmod(0o755))
            return
        mounted = subprocess.run(
            ["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot make a read-only mount here: {mounted.stderr.decode()}")
        # (lazily: a server that failed the test may still hold it)
        made.append(lambda: subprocess.run(["umount", "--lazy", str(folder)], check=True))

    yield make
    for undo in made:
        undo()


def test_what_a_killed_server_learned_comes_back(started, data_dir):
    store = data_dir / STORE
    server = started()
    notebook = open_notebook(server, "analysis.ipynb")
    run_cells(server, notebook, [("import time; time.sleep(0.5)", "cell-a"), ("1/0", "cell-b")])
    other = server.start_kernel()
    wait_for(lambda: (s := session(server, other)) and s["status"] == "ready", "a second kernel")
    server.request("DELETE", f"api/kernels/{other}")
    history = server.get(f"api/active-sessions/{notebook}/history")
    assert [e["status"] for e in history["executions"]] == ["error", "ok"]
    ran_for = history["executions"][1]["duration_seconds"]
    # What the store has, before the kill: at most one write interval behind.
    wait_for(
        lambda: (
            query(store, "SELECT count(*) FROM executions WHERE kernel_id = ?", notebook) == [(2,)]
        ),
        "the executions written",
    )
    wait_for(
        lambda: query(store, "SELECT count(*) FROM ended WHERE kernel_id = ?", other) == [(1,)],
        "the shut-down kernel written",
    )
    kill_kernels(server)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(30)

    server.restart()
    gone = wait_for(lambda: ended_at_least(server, 2), "both ended kernels")
    assert gone[other]["reason"] == "shutdown"
    lost = gone[notebook]
    assert lost["reason"] == "server_lost", lost
    assert lost["notebook_path"] == "analysis.ipynb"
    assert lost["last_execution"]["status"] == "error"
    history = server.get(f"api/active-sessions/{notebook}/history")
    assert history["total"] == 2
    assert [(e["cell_id"], e["status"]) for e in history["executions"]] == [
        ("cell-b", "error"),
        ("cell-a", "ok"),
    ]
    assert history["executions"][1]["error_name"] is None
    assert history["executions"][0]["error_name"] == "ZeroDivisionError"

    # The same cell in a new kernel of the notebook is expected to take as long.
    again = open_notebook(server, "analysis.ipynb")

    async def send() -> str:
        client = await connect(server, again)
        msg_id = client.send_execute("import time; time.sleep(3)", "cell-a")
        active = await asyncio.to_thread(
            wait_for,
            lambda: (
                (s := session(server, again))
                and (a := s["execution_queue"]["active"])
                and a["msg_id"] == msg_id
                and a
            ),
            "the cell running",
        )
        await client.finished(msg_id)
        client.close()
        return active

    active = asyncio.run(send())
    assert active["expected_seconds"] == ran_for

    # A clean stop records the live kernel as server_stopped.
    server.stop()
    server.restart()
    gone = wait_for(lambda: ended_at_least(server, 3), "three ended kernels")
    assert gone[again]["reason"] == "server_stopped"
    assert gone[notebook]["reason"] == "server_lost"
    assert server.get(f"api/active-sessions/{again}/history")["total"] == 1


def test_a_corrupt_store_is_moved_aside(started, data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / STORE).write_bytes(os.urandom(64 * 1024))
    server = started()
    every_route_answers(server)
    wait_for(lambda: said(server, "was corrupt"), "the log")
    assert said(server, "was corrupt") == 1
    asides = list(data_dir.glob(f"{STORE}.corrupt-*"))
    assert len(asides) == 1 and asides[0].stat().st_size == 64 * 1024
    # The new store works: the kernel that ended is in it.
    wait_for(lambda: query(data_dir / STORE, "SELECT count(*) FROM ended") == [(1,)], "a row")


def test_a_read_only_store_leaves_the_server_in_memory(started, tmp_path, read_only):
    folder = tmp_path / "store"
    store = [f"--SessionStore.path={folder / STORE}"]
    first = started(extra_args=store)
    kernel_id = first.start_kernel()
    wait_for(lambda: (s := session(first, kernel_id)) and s["status"] == "ready", "a kernel")
    first.stop()
    wait_for(lambda: query(folder / STORE, "SELECT count(*) FROM ended") == [(1,)], "a row")
    kept = hashlib.sha256((folder / STORE).read_bytes()).hexdigest()
    read_only(folder)
    server = started(extra_args=store)
    every_route_answers(server)
    wait_for(lambda: said(server, "cannot write the store"), "the log")
    assert said(server, "cannot write the store") == 1
    # Untouched (read as bytes: some SQLite versions cannot open a WAL file
    # on a read-only mount at all, which is what the server met too).
    assert hashlib.sha256((folder / STORE).read_bytes()).hexdigest() == kept
    server.stop()


def test_a_locked_store_is_waited_for_while_the_server_serves(started, data_dir):
    store = data_dir / STORE
    first = started()
    first.stop()  # the file exists, with its tables
    locker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"db = sqlite3.connect({str(store)!r}, isolation_level=None)\n"
            "db.execute('PRAGMA locking_mode=EXCLUSIVE')\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
        server = started()
        every_route_answers(server)
        wait_for(lambda: said(server, "is locked by another process"), "the log", timeout=90)
    finally:
        locker.communicate(b"", timeout=30)
    # Free again: what the server learned meanwhile reaches the file.
    wait_for(
        lambda: query(store, "SELECT count(*) FROM ended WHERE server_id != ?", "") == [(1,)],
        "the kernel that ended while the file was locked",
        timeout=90,
    )
    assert said(server, "is locked by another process") == 1
    assert "database is locked" not in server.log.read_text()


def test_two_servers_share_one_store(started, data_dir):
    """60 s of cells and kernels coming and going on two servers at once."""
    store = data_dir / STORE
    # Kernels on Unix sockets: two servers starting a kernel a second each
    # over TCP collide now and then (a port jupyter_client chose is taken by
    # another connection before the kernel binds it; the kernel dies, is
    # restarted on new ports, and a websocket opened meanwhile waits a minute:
    # docs/operators/configuration.md). That is jupyter_client's, not the store's.
    config = ["--SessionRegistry.history_length=100000", "--KernelManager.transport=ipc"]
    servers = [started(extra_args=config), started(extra_args=config)]
    owned: dict[str, int] = {}  # kernel id -> which server
    finished: dict[str, int] = {}

    async def traffic(index: int, server: JupyterServer) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            kernel_id = await asyncio.to_thread(server.start_kernel)
            owned[kernel_id] = index
            client = await connect(server, kernel_id)
            for n in range(40):
                await client.finished(client.send_execute(f"{n} * 2", f"cell-{n % 7}"))
                finished[kernel_id] = finished.get(kernel_id, 0) + 1
                if time.monotonic() > deadline:
                    break
            client.close()
            await asyncio.to_thread(server.request, "DELETE", f"api/kernels/{kernel_id}")

    async def both() -> None:
        await asyncio.gather(*(traffic(i, s) for i, s in enumerate(servers)))

    asyncio.run(both())
    known: dict[str, int] = {}  # what each server itself says its kernels ran
    for index, server in enumerate(servers):
        wait_for(
            lambda s=server, i=index: all(
                k in ended(s) for k, owner in owned.items() if owner == i
            ),
            "every kernel ended",
        )
        for kernel_id, owner in owned.items():
            if owner == index:
                history = server.get(f"api/active-sessions/{kernel_id}/history?limit=1")
                known[kernel_id] = history["total"]
        server.stop()
    rows = dict(query(store, "SELECT kernel_id, count(*) FROM executions GROUP BY kernel_id"))
    assert rows == known, "a row lost or made up"
    numbers = query(
        store, "SELECT kernel_id, min(number), max(number) FROM executions GROUP BY kernel_id"
    )
    assert all(low == 1 and high == known[k] for k, low, high in numbers)
    # And each server knew every cell its clients saw finish, the last one of
    # a kernel shut down at once too (its idle unread when the shutdown began).
    behind = {k: (finished[k], known[k]) for k in finished if finished[k] != known[k]}
    print(f"{len(finished)} kernels, {sum(finished.values())} cells")
    assert behind == {}, "(cells the clients saw finish, cells the server knew)"
    # Each server recorded its own kernels, and only those.
    owners = query(store, "SELECT kernel_id, server_id FROM ended")
    by_server: dict[str, set[int]] = {}
    for kernel_id, server_id in owners:
        by_server.setdefault(server_id, set()).add(owned[kernel_id])
    assert sorted(len(v) for v in by_server.values()) == [1, 1] and len(by_server) == 2
    assert {k for k, _ in owners} == set(owned)
    assert query(store, "SELECT count(*) FROM servers WHERE stopped IS NULL") == [(0,)]
    for server in servers:
        log = server.log.read_text()
        assert "database is locked" not in log and "could not write" not in log, log[-3000:]
    assert len(owned) >= 4
