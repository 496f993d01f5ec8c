"""The first answer after a restart: routes that answer from the store wait
for it to be read (a bounded time), and say when they could not. Real
servers in subprocesses, killed with SIGKILL and started again on the same
store."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from store_servers import (
    STORE,
    connect,
    kill_kernels,
    open_notebook,
    query,
    run_cells,
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


def test_the_first_answer_after_a_kill_lists_the_lost_kernels(started, data_dir):
    server = started()
    lost = open_notebook(server, "lost.ipynb")
    run_cells(server, lost, [("1 + 1", "cell-a")])
    wait_for(
        lambda: query(data_dir / STORE, "SELECT count(*) FROM executions") == [(1,)],
        "the execution written",
    )
    kill_kernels(server)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(30)

    server.restart(listening=True)
    # Asked once each, as soon as the port is open: no polling until it is right.
    opened = time.monotonic()
    first = server.get("api/active-sessions/ended")
    print(f"first answer {time.monotonic() - opened:.3f} s after the port opened")
    assert [(s["session_id"], s["reason"]) for s in first["sessions"]] == [(lost, "server_lost")]
    assert first["complete"] is True
    history = server.get(f"api/active-sessions/{lost}/history")
    assert history["total"] == 1 and history["complete"] is True
    assert [e["cell_id"] for e in history["executions"]] == ["cell-a"]


def locker(store: Path) -> subprocess.Popen[bytes]:
    """Another process holding the store locked until its stdin closes."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(store)!r}, isolation_level=None)\n"
            "db.execute('PRAGMA locking_mode=EXCLUSIVE')\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
    return proc


def active(server: JupyterServer, kernel_id: str, msg_id: str) -> dict[str, Any] | None:
    found = session(server, kernel_id)
    entry = found and found["execution_queue"]["active"]
    return entry if entry and entry["msg_id"] == msg_id else None


def test_while_the_store_cannot_be_read_answers_say_so(started, data_dir):
    first = started()
    earlier = open_notebook(first, "slow.ipynb")
    run_cells(first, earlier, [("import time; time.sleep(1)", "cell-a")])
    took = first.get(f"api/active-sessions/{earlier}/history")["executions"][0]["duration_seconds"]
    first.stop()
    held = locker(data_dir / STORE)
    server = started(extra_args=["--SessionStore.read_timeout=1"])
    again = open_notebook(server, "slow.ipynb")

    async def while_locked_then_free() -> None:
        client = await connect(server, again)
        msg_id = client.send_execute("import time; time.sleep(300)", "cell-a")
        running = await asyncio.to_thread(
            wait_for, lambda: active(server, again, msg_id), "the cell running"
        )
        # Sent before the store was read: how long it took before is not known yet.
        assert running["expected_seconds"] is None
        ended = server.get("api/active-sessions/ended")
        assert ended == {"total": 0, "sessions": [], "complete": False}
        assert server.get("api/active-sessions?include=ended")["ended"]["complete"] is False
        with pytest.raises(urllib.error.HTTPError) as err:
            server.get(f"api/active-sessions/{earlier}/history")
        assert err.value.code == 404 and b"still being read" in err.value.read()

        held.communicate(b"", timeout=30)  # free again
        ended = await asyncio.to_thread(
            wait_for,
            lambda: (e := server.get("api/active-sessions/ended"))["complete"] and e,
            "the store read",
            timeout=90,
        )
        assert [s["session_id"] for s in ended["sessions"]] == [earlier]
        history = server.get(f"api/active-sessions/{earlier}/history")
        assert history["complete"] is True and history["total"] == 1
        # And the running cell expects what the store knew of it.
        running = await asyncio.to_thread(
            wait_for,
            lambda: (a := active(server, again, msg_id)) and a["expected_seconds"] and a,
            "the cell's expected duration",
        )
        assert running["expected_seconds"] == took
        client.close()

    try:
        asyncio.run(while_locked_then_free())
    finally:
        if held.poll() is None:
            held.communicate(b"", timeout=30)
        server.request("POST", f"api/active-sessions/{again}/interrupt")
