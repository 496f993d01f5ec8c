"""A kernel that publishes what it likes: its code runs as the user, and
it may forge any IOPub message with the kernel's own signing key. A real
server (a subprocess, with its store) and real ipykernel kernels whose
cells forge messages through the kernel's own session. Nothing they send
may stop a route, the store or the server's stop, or make an answer that a
browser's JSON.parse refuses."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_session_ext.api.events import FINISHED_BURST, FINISHED_EVERY
from jupyter_session_ext.state.kernel_state import ERROR_NAME_MAX

from conftest import poll, started
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


# -- in the test's own server (pytest-jupyter), with its event bus ----------------


@pytest.fixture
def jp_server_config(jp_server_config):
    # Every finished execution is announced, however short: the rate limit
    # on those events is then all that stands between a forging loop and
    # every open tab.
    return {**jp_server_config, "SessionEvents": {"finished_event_min_seconds": 0}}


async def test_a_kernel_forging_finished_executions_in_a_loop_is_heard_a_few_times(
    api, open_client, session_events
):
    """200 forged busy/error/idle of a request nobody sent, each dated by
    the kernel as two minutes long: each was an `execution_finished` event
    of 120 s with an error, which the panel shows as a notification in
    every open tab. Now each lasts what the server saw, and a kernel's
    finished events are rate-limited."""
    kernel_id, client = await started(api, open_client)
    began = time.monotonic()
    await client.execute(
        FORGE
        + "for i in range(200):\n"
        + "    p = parent(f'loop-{i}', '2026-01-01T00:00:00Z')\n"
        + "    forge('status', {'execution_state': 'busy'}, p, date='2026-01-01T00:00:00Z')\n"
        + "    forge('error', {'ename': 'Forged', 'evalue': '', 'traceback': []}, p)\n"
        + "    forge('status', {'execution_state': 'idle'}, p, date='2026-01-01T00:02:00Z')\n"
    )
    await api.wait_session(kernel_id, lambda s: s["status"] == "idle")
    history = await poll(
        lambda: api.get("api", "active-sessions", kernel_id, "history"),
        lambda h: h["total"] >= 200,
    )
    forged = [e for e in history["executions"] if e["msg_id"].startswith("loop-")]
    assert forged and all(e["status"] == "error" for e in forged)
    assert max(e["duration_seconds"] for e in forged) < 60, forged[0]
    finished = [e for e in session_events if e["action"] == "execution_finished"]
    # The burst, then one each FINISHED_EVERY seconds for as long as it
    # took (a loaded machine takes longer), and the forging cell's own.
    allowed = FINISHED_BURST + 2 + (time.monotonic() - began) / FINISHED_EVERY
    assert len(finished) <= allowed, (len(finished), allowed)


async def test_a_50_mb_exception_class_name_is_kept_short(api, open_client):
    """A class name of any size was kept whole in each of the last 100
    history entries (and written to the store, and sent in every answer)."""
    kernel_id, client = await started(api, open_client)
    # (Its reply is too big for this test's websocket client, which closes.)
    client.send_execute('raise type("E" * 50_000_000, (Exception,), {})()')
    history = await poll(
        lambda: api.get("api", "active-sessions", kernel_id, "history"),
        lambda h: h["total"] >= 1 and h["executions"][0]["status"] == "error",
        timeout=120,
    )
    name = history["executions"][0]["error_name"]
    assert name.startswith("EEEE") and len(name) <= ERROR_NAME_MAX, len(name)
    code, _ = await api.call("GET", "api", "active-sessions")
    assert code == 200


async def test_garbage_on_iopub_and_websocket_is_logged_once_not_per_message(
    api, open_client, caplog
):
    """IOPub content sent as a list, and websocket frames that are JSON but
    not objects: each logged a traceback per message."""
    caplog.set_level(logging.DEBUG)
    kernel_id, client = await started(api, open_client)
    # jupyter_server closes a websocket after such a frame: a client that
    # wants to flood the log opens another each time.
    for _ in range(20):
        garbage = await open_client(kernel_id)
        garbage.ws.write_message('["execute_request", "input_reply"]')
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(garbage.next_message(), 30)
    await client.execute(
        FORGE
        + "for i in range(300):\n"
        + "    forge('status', ['busy'], parent(f'list-{i}', '2026-01-01T00:00:00Z'))\n"
        + "    forge('execute_input', 'code', parent(f'list-{i}', '2026-01-01T00:00:00Z'))\n"
    )
    # Still read right after all that.
    await client.execute("1 + 1")
    await api.wait_session(kernel_id, lambda s: s["status"] == "idle")
    ours = [r for r in caplog.records if "Active sessions" in r.getMessage()]
    assert len(ours) <= 4, [r.getMessage() for r in ours[:5]]
    assert len([r for r in ours if r.exc_info]) <= 2


HOSTILE_KERNEL = """
import json, sys
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp

class Hostile(IPythonKernel):
    @property
    def kernel_info(self):
        info = dict(super().kernel_info)
        info.update(banner="B" * 10_000_000, nan=float("nan"), inf=float("-inf"),
                    deep=json.loads("[" * 100 + "]" * 100), big=10**30)
        return info

class App(IPKernelApp):
    def init_kernel(self):
        # NaN and Infinity on the wire (jupyter_client's packer refuses them).
        self.session.pack = lambda o: json.dumps(o, default=str).encode()
        super().init_kernel()

App.launch_instance(kernel_class=Hostile)
"""


@pytest.fixture
def hostile_kernelspec(jp_data_dir, tmp_path):
    script = tmp_path / "hostile_kernel.py"
    script.write_text(HOSTILE_KERNEL)
    spec_dir = jp_data_dir / "kernels" / "hostile"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, str(script), "-f", "{connection_file}"],
                "display_name": "Hostile",
                "language": "python",
            }
        )
    )
    return "hostile"


async def test_a_kernel_info_reply_of_any_size_and_nan_is_kept_small_and_strict(
    api, hostile_kernelspec, jp_fetch
):
    kernel_id = await api.start_kernel(name=hostile_kernelspec)
    await api.wait_session(kernel_id, lambda s: s["status"] == "ready", timeout=60)
    response = await jp_fetch("api", "active-sessions", kernel_id)
    text = response.body.decode()
    assert len(text) < 200_000, len(text)
    info = strict(text)["kernel_info"]
    assert info["nan"] is None and info["inf"] is None and info["big"] is None
    assert info["banner"].startswith("BBBB") and len(info["banner"]) < 70_000
    assert info["language_info"]["name"] == "python"
    strict((await jp_fetch("api", "active-sessions")).body.decode())
