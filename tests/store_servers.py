"""Real servers in subprocesses on one Jupyter data directory, for the tests
of the store (tests/test_persistence.py, tests/test_store_*.py): what they
answer, what the store's file holds, and `servers` for a fixture that
starts them."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from kernel_websocket import KernelWebsocket
from server_process import JupyterServer

STORE = "active_sessions.db"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def query(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read the store as another program would (while servers write it)."""
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as db:
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # no tables yet


async def connect(server: JupyterServer, kernel_id: str) -> KernelWebsocket:
    """A client on the kernel's websocket (generous timeouts: servers share 2
    cores); when none comes, the server's log says why."""
    try:
        ws = await websocket_connect(
            HTTPRequest(
                f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels",
                headers=server.auth,
                connect_timeout=60,
                request_timeout=60,
            )
        )
    except Exception as err:
        raise AssertionError(f"no websocket to {kernel_id}; {server.log}:\n{tail(server)}") from err
    return KernelWebsocket(ws, v1=False)


def tail(server: JupyterServer, size: int = 4000) -> str:
    return server.log.read_text(errors="replace")[-size:]


def run_cells(server: JupyterServer, kernel_id: str, cells: list[tuple[str, str]]) -> None:
    """Run each (code, cell id) in turn over the kernel's websocket."""

    async def run() -> None:
        client = await connect(server, kernel_id)
        try:
            for code, cell_id in cells:
                await client.finished(client.send_execute(code, cell_id))
        finally:
            client.close()

    asyncio.run(run())


def open_notebook(server: JupyterServer, path: str) -> str:
    """A notebook's Jupyter session, as JupyterLab makes it: its kernel's id,
    once our record knows the notebook."""
    kernel_id = server.request(
        "POST",
        "api/sessions",
        {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}},
    )["kernel"]["id"]
    wait_for(
        lambda: (s := session(server, kernel_id)) and s["status"] == "ready" and s["notebook_path"],
        "the notebook's kernel ready",
    )
    return kernel_id


def session(server: JupyterServer, kernel_id: str) -> dict[str, Any] | None:
    try:
        return server.get(f"api/active-sessions/{kernel_id}")
    except urllib.error.HTTPError:
        return None


def ended(server: JupyterServer) -> dict[str, dict[str, Any]]:
    return {s["session_id"]: s for s in server.get("api/active-sessions/ended")["sessions"]}


def ended_at_least(server: JupyterServer, n: int) -> dict[str, dict[str, Any]] | None:
    found = ended(server)
    return found if len(found) >= n else None


def kill_kernels(server: JupyterServer) -> None:
    """The kernels a SIGKILLed server leaves behind (ipykernel exits on its
    own when its parent goes, but not at once)."""
    for s in server.get("api/active-sessions")["sessions"]:
        if s.get("process_id"):
            try:
                os.kill(s["process_id"], signal.SIGKILL)
            except ProcessLookupError:
                pass


def servers(data_dir: Path) -> Iterator[Callable[..., JupyterServer]]:
    """For a fixture: starts servers on `data_dir` (`JupyterServer`'s
    arguments), and stops those still running at the end."""
    running: list[JupyterServer] = []

    def start(**kwargs: Any) -> JupyterServer:
        server = JupyterServer(data_dir=data_dir, **kwargs)
        running.append(server)
        return server

    yield start
    for server in running:
        if server.proc.poll() is None:
            server.stop()


def every_route_answers(server: JupyterServer) -> None:
    kernel_id = server.start_kernel()
    wait_for(lambda: (s := session(server, kernel_id)) and s["status"] == "ready", "a kernel")
    for path in (
        "api/active-sessions",
        "api/active-sessions/status",
        "api/active-sessions/ended",
        f"api/active-sessions/{kernel_id}",
        f"api/active-sessions/{kernel_id}/history",
    ):
        server.get(path)
    with pytest.raises(urllib.error.HTTPError) as err:
        server.get("api/active-sessions/00000000-0000-0000-0000-000000000000/history")
    assert err.value.code == 404
    run_cells(server, kernel_id, [("1 + 1", "c")])
    # (The server reads the kernel's idle on a socket of its own: it may come
    # after the reply the client saw.)
    wait_for(
        lambda: server.get(f"api/active-sessions/{kernel_id}/history")["total"] == 1,
        "the cell in the history",
    )
    server.request("DELETE", f"api/kernels/{kernel_id}")
    wait_for(lambda: kernel_id in ended(server), "the kernel under ended")


def said(server: JupyterServer, words: str) -> int:
    return server.log.read_text().count(words)
