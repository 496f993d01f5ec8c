"""A store that fails does not stop the server from serving, nor from
stopping: records that cannot be stored are skipped and counted, a write
that fails is said once per cause, and SIGTERM stops the server whatever the
store does. Real servers in subprocesses."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient
from store_servers import (
    STORE,
    ended,
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


def stops(server: JupyterServer) -> float:
    """SIGTERM, then the seconds until the process was gone (a generous bound:
    the assertion is that it stops at all)."""
    began = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(45)
    except subprocess.TimeoutExpired:
        raise AssertionError("SIGTERM did not stop the server in 45 s") from None
    took = time.monotonic() - began
    print(f"stopped {took:.2f} s after SIGTERM")
    return took


def a_cell_dated_year_1(server: JupyterServer, kernel_id: str) -> None:
    """A client talking to the kernel directly, its clock set to the year 1
    (east of Greenwich: a date with no UTC form); the server learns of the
    execution from what the kernel publishes."""
    # (wherever the server's runtime folder is: its own, beside its log)
    connection_file = next(server.log.parent.rglob(f"kernel-{kernel_id}.json"))
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        msg = client.session.msg("execute_request", {"code": "2 + 2", "silent": False})
        msg["header"]["date"] = "0001-01-01T00:00:00+05:00"
        client.shell_channel.send(msg)
        assert client.get_shell_msg(timeout=60)["content"]["status"] == "ok"
    finally:
        client.stop_channels()


def test_a_cell_id_that_is_no_text_and_a_date_with_no_utc_form_are_stored_shaped(started, data_dir):
    """A lone surrogate for a cell id (no text SQLite can store) and a date
    in the year 1 east of Greenwich (no UTC form): each made every write of
    the store fail, and SIGTERM then stopped nothing. Both are shaped where
    they come in (untrusted/), so both executions are stored, and the
    server stops."""
    server = started()
    notebook = open_notebook(server, "hostile.ipynb")
    run_cells(server, notebook, [("1 + 1", "\udc80")])
    a_cell_dated_year_1(server, notebook)
    wait_for(
        lambda: (s := session(server, notebook)) and s["execution_count"] == 2,
        "both cells seen",
    )
    other = a_kernel_comes_and_goes(server)
    wait_for(lambda: other in ended(server), "the kernel under ended")
    stops(server)
    assert ended_ids(data_dir / STORE) == {other, notebook}
    log = server.log.read_text()
    assert said(server, "could not be stored") == 0, log[-4000:]
    assert "Exception in callback" not in log, log[-4000:]
    server.restart()
    gone = wait_for(lambda: (e := ended(server)) and len(e) == 2 and e, "both kernels ended")
    assert gone[other]["reason"] == "shutdown"
    assert gone[notebook]["reason"] == "server_stopped"
    history = server.get(f"api/active-sessions/{notebook}/history")
    assert [e["execution_count"] for e in history["executions"]] == [2, 1]
    assert history["executions"][1]["cell_id"] == "\ufffd"
    assert history["executions"][0]["submitted"].startswith("20")


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MB file system of its own (tmpfs), for root."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode()}")
    yield disk
    # (lazily: a server that failed the test may still hold it)
    subprocess.run(["umount", "--lazy", str(disk)], check=True)


def fill(disk: Path) -> None:
    try:
        with open(disk / "filler", "ab") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
    except OSError:
        pass  # full


def a_kernel_comes_and_goes(server: JupyterServer) -> str:
    kernel_id = server.start_kernel()
    wait_for(lambda: (s := session(server, kernel_id)) and s["status"] == "ready", "a kernel")
    server.request("DELETE", f"api/kernels/{kernel_id}")
    return kernel_id


def test_a_full_disk_is_said_once_and_the_server_still_stops(started, small_disk):
    store = small_disk / STORE
    server = started(extra_args=[f"--SessionStore.path={store}"])
    a_kernel_comes_and_goes(server)
    wait_for(lambda: query(store, "SELECT count(*) FROM ended") == [(1,)], "a kernel written")
    full = f"could not write the store {store} (database or disk is full)"
    fill(small_disk)
    # Seconds of writes failing (every change, every interval): said once.
    while_full = [a_kernel_comes_and_goes(server) for _ in range(2)]
    wait_for(lambda: said(server, full), "the log")
    assert said(server, full) == 1
    # Space again: what the server learned meanwhile reaches the file.
    (small_disk / "filler").unlink()
    wait_for(
        lambda: ended_ids(store).issuperset(while_full),
        "the kernels that ended while the disk was full",
    )
    # (said just after the write: polled)
    wait_for(lambda: said(server, "is written again"), "the log")
    # Full again (said again), and the server is told to stop.
    fill(small_disk)
    a_kernel_comes_and_goes(server)
    wait_for(lambda: said(server, full) == 2, "the log")
    stops(server)
    assert said(server, full) == 2 and said(server, "is written again") == 1
    assert said(server, "cannot rollback") == 0


def ended_ids(store: Path) -> set[str]:
    return {k for (k,) in query(store, "SELECT kernel_id FROM ended")}
