"""Beside jupyter-server-nbmodel 0.2.9 (server-side execution), in a venv of
its own (tests/peer_venv.py): `POST /api/kernels/{id}/execute` queues
requests in the server, which sends them one at a time over ZMQ. Our record
must list them as pending with their cell ids, show the running one's, and
keep the cell ids in the history (traffic/server_execution.py)."""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable, Iterator
from typing import Any

import jupyter_client
import pytest

from peer_venv import peer_python
from server_process import JupyterServer

PINS = ["jupyter-server-nbmodel==0.2.9", "jupyter-kernel-client==1.0.2"]

# With jupyter_client 8.6.0 (our floor, make test-min), nbmodel 0.2.9 holds
# the server's event loop while a request runs: no route answers until it
# ends (a read waited 3.15 s through a 3 s cell), so the running state
# cannot be read. With 8.10.0 (make test) it does not.
pytestmark = pytest.mark.skipif(
    jupyter_client.version_info < (8, 10),
    reason="nbmodel 0.2.9 blocks the server's event loop with jupyter_client < 8.10",
)


@pytest.fixture(scope="module")
def server() -> Iterator[JupyterServer]:
    s = JupyterServer(python=peer_python("nbmodel", PINS))
    try:
        yield s
    finally:
        s.stop()


def until(read: Callable[[], Any], holds: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if holds(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"state not reached in {timeout}s; last value: {value!r}")
        time.sleep(0.05)


def execute(server: JupyterServer, kernel: str, code: str, cell_id: str) -> str:
    answer = server.request(
        "POST", f"api/kernels/{kernel}/execute", {"code": code, "metadata": {"cell_id": cell_id}}
    )
    assert answer["pending"] is True, answer
    return answer["request_id"]


def ready_kernel(server: JupyterServer) -> str:
    kernel = server.start_kernel()
    until(lambda: server.get(f"api/active-sessions/{kernel}"), lambda s: s["status"] == "ready")
    return kernel


def test_nbmodel_is_loaded(server):
    kernel = ready_kernel(server)
    assert server.get(f"api/kernels/{kernel}/execute")["requests"] == []


def test_three_requests_show_running_and_two_pending_with_cell_ids(server):
    kernel = ready_kernel(server)
    execute(server, kernel, "import time\ntime.sleep(3)", "first-cell")
    execute(server, kernel, "y = 2", "second-cell")
    execute(server, kernel, "z = 3", "third-cell")
    # nbmodel's own list says the same.
    theirs = server.get(f"api/kernels/{kernel}/execute")["requests"]
    assert [r["cell_id"] for r in theirs] == ["first-cell", "second-cell", "third-cell"]
    session = until(
        lambda: server.get(f"api/active-sessions/{kernel}"),
        lambda s: (s["execution_queue"]["active"] or {}).get("cell_id") == "first-cell",
    )
    queue = session["execution_queue"]
    assert session["status"] == "busy"
    assert queue["active"]["code"].startswith("import time")
    assert [p["cell_id"] for p in queue["pending"]] == ["second-cell", "third-cell"]
    assert [p["code"] for p in queue["pending"]] == ["y = 2", "z = 3"]
    assert queue["length"] == 2
    done = until(
        lambda: server.get(f"api/active-sessions/{kernel}"),
        lambda s: s["status"] == "idle" and s["execution_queue"]["length"] == 0,
    )
    assert done["execution_queue"]["active"] is None
    history = until(
        lambda: server.get(f"api/active-sessions/{kernel}/history"),
        lambda h: h["total"] == 3,
    )
    assert [e["cell_id"] for e in history["executions"]] == [
        "third-cell",
        "second-cell",
        "first-cell",
    ]
    assert {e["status"] for e in history["executions"]} == {"ok"}


def test_a_request_nbmodel_drops_leaves_the_pending_list(server):
    kernel = ready_kernel(server)
    execute(server, kernel, "import time\ntime.sleep(3)", "long")
    dropped = execute(server, kernel, "w = 1", "dropped")
    until(
        lambda: server.get(f"api/active-sessions/{kernel}"),
        lambda s: [p["cell_id"] for p in s["execution_queue"]["pending"]] == ["dropped"],
    )
    try:
        server.request("DELETE", f"api/kernels/{kernel}/requests/{dropped}")
    except urllib.error.HTTPError as err:  # nbmodel may answer it already ran
        pytest.fail(f"nbmodel refused to drop the request: {err}")
    session = server.get(f"api/active-sessions/{kernel}")
    assert session["execution_queue"]["pending"] == []
    assert session["execution_queue"]["active"]["cell_id"] == "long"


def test_a_hostile_request_is_capped(server):
    kernel = ready_kernel(server)
    execute(server, kernel, "import time\ntime.sleep(2)", "long")
    execute(server, kernel, "# " + "x" * 2_000_000, "c" * 10_000)
    session = until(
        lambda: server.get(f"api/active-sessions/{kernel}"),
        lambda s: len(s["execution_queue"]["pending"]) == 1,
    )
    pending = session["execution_queue"]["pending"][0]
    assert len(pending["cell_id"]) <= 256
    assert len(pending["code"]) <= 10_000 and pending["code_truncated"] is True
    until(lambda: server.get(f"api/active-sessions/{kernel}"), lambda s: s["status"] == "idle")
