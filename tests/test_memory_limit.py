"""Memory against a real limit: a server started inside a memory cgroup this
test makes (1 GiB), its kernels allocating for real, the kernel's own OOM
killer ending one. Skips, saying why, only where no memory cgroup can be
made (not root, no cgroupfs memory controller)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from conftest import poll
from fields import parse_utc
from kernel_websocket import KernelWebsocket
from server_process import JupyterServer, start_and_wait

GiB = 1024**3
MB = 1_000_000
SCHEMA = "https://github.com/jupyter-session-ext/jupyter-session-ext/events/active-session/v1"


def make_cgroup(limit: int) -> tuple[Path, int]:
    """A new memory cgroup with `limit` bytes (v1 here; v2 where its memory
    controller is delegated), and its version."""
    name = f"jse-test-{os.getpid()}-{secrets.token_hex(3)}"
    v1 = Path("/sys/fs/cgroup/memory")
    v2 = Path("/sys/fs/cgroup")
    if (v1 / "memory.limit_in_bytes").exists() and os.access(v1, os.W_OK):
        path = v1 / name
        path.mkdir()
        (path / "memory.limit_in_bytes").write_text(str(limit))
        if (path / "memory.memsw.limit_in_bytes").exists():
            (path / "memory.memsw.limit_in_bytes").write_text(str(limit))  # no escape to swap
        return path, 1
    controls = v2 / "cgroup.subtree_control"
    if controls.exists() and "memory" in controls.read_text().split() and os.access(v2, os.W_OK):
        path = v2 / name
        path.mkdir()
        (path / "memory.max").write_text(str(limit))
        (path / "memory.swap.max").write_text("0")
        return path, 2
    pytest.skip(
        "no memory cgroup can be made here (needs root and a writable memory "
        "controller under /sys/fs/cgroup)"
    )


def remove_cgroup(path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        for pid in (path / "cgroup.procs").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            path.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class CgroupServer(JupyterServer):
    """A server whose process (and so its kernels) starts in `cgroup`."""

    def __init__(self, cgroup: Path, **kwargs: Any) -> None:
        self.cgroup = cgroup
        super().__init__(**kwargs)

    def _start(self) -> Any:
        enter = f'echo $$ > {self.cgroup / "cgroup.procs"} && exec "$@"'
        return start_and_wait(
            ["sh", "-c", enter, "sh", *self.argv],
            self.url + "api/status",
            self.log,
            headers=self.auth,
            env=self.env,
        )


@pytest.fixture
def limited_server():
    path, version = make_cgroup(GiB)
    server = None
    try:
        server = CgroupServer(
            path,
            extra_args=[
                "--SessionRegistry.resource_sampling_interval=1",
                "--SessionEvents.finished_event_min_seconds=0",
            ],
        )
        yield server, path, version
    finally:
        if server is not None:
            server.stop()
        remove_cgroup(path)


def read_metrics(server: JupyterServer) -> str:
    request = urllib.request.Request(server.url + "metrics", headers=server.auth)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


async def kernel_client(server: JupyterServer, kernel_id: str) -> KernelWebsocket:
    url = server.url.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels"
    return KernelWebsocket(await websocket_connect(HTTPRequest(url, headers=server.auth)), False)


async def get(server: JupyterServer, path: str) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, server.get, path)


async def last_execution(server: JupyterServer, kernel_id: str, msg_id: str) -> dict[str, Any]:
    history = await poll(
        lambda: get(server, f"api/active-sessions/{kernel_id}/history"),
        lambda h: any(
            e["msg_id"] == msg_id and e["memory_end_bytes"] is not None for e in h["executions"]
        ),
    )
    return next(e for e in history["executions"] if e["msg_id"] == msg_id)


async def ready_kernel(server: JupyterServer) -> str:
    kernel_id = await asyncio.get_running_loop().run_in_executor(None, server.start_kernel)
    await poll(
        lambda: get(server, f"api/active-sessions/{kernel_id}"),
        lambda s: s["status"] in ("ready", "idle") and s["resource_usage"] is not None,
        timeout=60,
    )
    return kernel_id


async def test_the_limit_what_cells_cost_the_warning_and_the_oom_kill(limited_server):
    server, path, version = limited_server
    status = await poll(
        lambda: get(server, "api/active-sessions/status"), lambda s: s["memory"]["source"]
    )
    memory = status["memory"]
    assert (memory["source"], memory["limit_bytes"]) == ("cgroup", GiB)
    assert 0 < memory["used_bytes"] < GiB

    events: list[dict[str, Any]] = []
    subscription = await websocket_connect(
        HTTPRequest(
            server.url.replace("http", "ws", 1) + "api/events/subscribe", headers=server.auth
        )
    )

    async def listen() -> None:
        while (raw := await subscription.read_message()) is not None:
            event = json.loads(raw)
            if event.get("schema_id") == SCHEMA:
                events.append({**event, "received": datetime.now(timezone.utc)})

    listener = asyncio.ensure_future(listen())
    grower, victim = await ready_kernel(server), await ready_kernel(server)
    client = await kernel_client(server, grower)
    try:
        # What a cell that keeps 300 MB costs: its end less its start.
        msg_id = client.send_execute("x = b'x' * 300_000_000")
        await client.finished(msg_id)
        entry = await last_execution(server, grower, msg_id)
        grown = entry["memory_end_bytes"] - entry["memory_start_bytes"]
        assert 0.85 * 300 * MB <= grown <= 1.15 * 300 * MB, entry
        await client.execute("del x")

        # A cell that holds 300 MB for 2 s and lets it go: its peak shows it.
        msg_id = client.send_execute("import time\ny = b'y' * 300_000_000\ntime.sleep(2)\ndel y")
        await client.finished(msg_id)
        entry = await last_execution(server, grower, msg_id)
        assert entry["memory_peak_bytes"] - entry["memory_start_bytes"] >= 240 * MB, entry
        assert entry["memory_end_bytes"] - entry["memory_start_bytes"] < 100 * MB, entry
        assert not [e for e in events if e["action"] == "memory_warning"]

        # Grow 100 MB a second until the OOM killer ends the kernel.
        client.send_execute(
            "import time\nchunks = []\nwhile True:\n"
            "    chunks.append(b'z' * 10_000_000)\n    time.sleep(0.1)"
        )
        session = await poll(
            lambda: get(server, f"api/active-sessions/{grower}"),
            lambda s: s["last_exit"] is not None,
            timeout=120,
        )
        exit = session["last_exit"]
        assert (exit["reason"], exit["signal"]) == ("oom", 9), exit
        assert exit["limit_bytes"] == GiB
        assert exit["memory_bytes"] is not None and exit["memory_bytes"] > 600 * MB, exit
        counter = "memory.oom_control" if version == 1 else "memory.events"
        assert "oom_kill 1" in (path / counter).read_text()

        warnings = [e for e in events if e["action"] == "memory_warning"]
        assert len(warnings) == 1, [e["action"] for e in events]
        warning = warnings[0]
        assert warning["limit_bytes"] == GiB and warning["used_bytes"] >= 0.9 * GiB
        assert warning["kernels"][0]["session_id"] == grower
        assert warning["received"] < parse_utc(exit["ended"])  # before the kill was seen

        metrics = await asyncio.get_running_loop().run_in_executor(None, read_metrics, server)
        assert "jupyter_active_sessions_oom_kills_total 1.0" in metrics
        limit = re.search(r'memory_limit_bytes\{source="cgroup"\} (\S+)', metrics)
        assert limit is not None and float(limit.group(1)) == GiB

        # Anyone's kill -9 is not the OOM killer's.
        pid = (await get(server, f"api/active-sessions/{victim}"))["process_id"]
        os.kill(pid, signal.SIGKILL)
        session = await poll(
            lambda: get(server, f"api/active-sessions/{victim}"),
            lambda s: s["last_exit"] is not None,
            timeout=60,
        )
        assert (session["last_exit"]["reason"], session["last_exit"]["signal"]) == ("killed", 9)
    finally:
        client.close()
        listener.cancel()
        subscription.close()
