"""A kernel that publishes what it likes: its code runs as the user, and
it may forge any IOPub message with the kernel's own signing key. A real
server (a subprocess, with its store) and real ipykernel kernels whose
cells forge messages through the kernel's own session. Nothing they send
may stop a route, the store or the server's stop, or make an answer that a
browser's JSON.parse refuses."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server_process import JupyterServer

# Run in the kernel: `forge(msg_type, content, parent, date=None)` publishes
# a message on IOPub with the kernel's session (so its signature is good),
# its header's date replaced when `date` is given.
FORGE = """
_k = get_ipython().kernel
def forge(msg_type, content, parent, date=None):
    msg = _k.session.msg(msg_type, content, parent=parent)
    if date is not None:
        msg["header"]["date"] = date
    _k.session.send(_k.iopub_socket, msg)
def parent(msg_id, date):
    return {"msg_id": msg_id, "msg_type": "execute_request", "session": "forger",
            "username": "forger", "date": date, "version": "5.3"}
"""
BEYOND = "9999-12-31T23:59:59-05:00"  # valid ISO 8601; no UTC datetime holds it
BEFORE = "0001-01-01T00:00:00+05:00"


def strict(text: str) -> Any:
    """JSON as a browser's JSON.parse takes it: no NaN, no Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def get(server: JupyterServer, path: str) -> Any:
    """A route's answer, which must be 200 and strict JSON."""
    import urllib.request

    request = urllib.request.Request(server.url + path, headers=server.auth)
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return strict(response.read().decode())


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stored(server: JupyterServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    path = Path(server.data_dir) / "active_sessions.db"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as db:
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []


@pytest.fixture
def server():
    srv = JupyterServer()
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def ready_kernel(server: JupyterServer) -> str:
    kernel_id = server.start_kernel()
    wait_for(
        lambda: get(server, f"api/active-sessions/{kernel_id}")["status"] == "ready",
        "the kernel ready",
    )
    return kernel_id


def test_a_kernel_forged_date_in_year_9999_stops_nothing(server):
    """A busy/idle whose parent header (and header) a kernel dated in year
    9999 at -05:00. That date became a queue entry's `submitted`, and
    writing it raised: the list was 500 for every client, history and ended
    followed, and the store's flush raised every 0.5 s until a restart."""
    kernel_id = ready_kernel(server)
    server.run_cells(
        kernel_id,
        [
            (
                FORGE
                + f"forge('status', {{'execution_state': 'busy'}}, parent('forged', {BEYOND!r}),"
                f" date={BEFORE!r})\n"
                + f"forge('execute_input', {{'code': 'forged()', 'execution_count': 99}},"
                f" parent('forged', {BEYOND!r}), date={BEFORE!r})\n",
                "forging-cell",
            )
        ],
    )
    # The forged request runs, as far as anyone can tell.
    session = wait_for(
        lambda: (
            (s := get(server, f"api/active-sessions/{kernel_id}"))["execution_queue"]["active"]
            and s
        ),
        "the forged request to run",
    )
    active = session["execution_queue"]["active"]
    assert active["msg_id"] == "forged" and active["submitted"].startswith("20")
    listed = get(server, "api/active-sessions")
    assert kernel_id in [s["session_id"] for s in listed["sessions"]]
    get(server, "api/active-sessions?include=ended,status")
    # Another forged run, of 228 years by the kernel's dates: no longer than
    # the server saw by its own clock.
    server.run_cells(
        kernel_id,
        [
            (
                FORGE
                + f"forge('status', {{'execution_state': 'busy'}}, parent('forged-2', {BEYOND!r}),"
                " date='1971-01-01T00:00:00Z')\n"
                + f"forge('status', {{'execution_state': 'idle'}}, parent('forged-2', {BEYOND!r}),"
                " date='2199-12-31T00:00:00Z')\n",
                "ending-cell",
            )
        ],
    )
    history = wait_for(
        lambda: [
            e
            for e in get(server, f"api/active-sessions/{kernel_id}/history")["executions"]
            if e["msg_id"] == "forged-2"
        ],
        "the forged execution in the history",
    )
    [forged] = history
    assert 0 <= forged["duration_seconds"] < 600, forged
    assert forged["submitted"].startswith("20") and forged["ended"].startswith("20")
    # The store goes on writing: the forged run, and a plain cell after it.
    server.run_cells(kernel_id, [("1 + 1", "plain-cell")])
    wait_for(
        lambda: any(
            json.loads(row)["cell_id"] == "plain-cell"
            for (row,) in stored(
                server, "SELECT execution FROM executions WHERE kernel_id = ?", kernel_id
            )
        ),
        "the plain cell in the store",
    )
    server.request("DELETE", f"api/kernels/{kernel_id}")
    wait_for(
        lambda: (
            kernel_id
            in [s["session_id"] for s in get(server, "api/active-sessions/ended")["sessions"]]
        ),
        "the kernel among the ended",
    )
    # And the server stops when asked.
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(30)
    assert "Traceback" not in server.log.read_text()
