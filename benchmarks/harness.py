"""Real servers and a websocket client for the benchmarks: no mocks, no
in-process shortcuts. Each server is a `jupyter server` subprocess on
loopback with its own token (tests/server_process.py), with the extension
enabled or disabled."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.error
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

# Starting a server and waiting for it is shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from server_process import JupyterServer  # noqa: E402


class Server(JupyterServer):
    """A benchmark's server: checks the extension really is on (or off)."""

    # A machine shared with builds and browser tests can take minutes.
    start_timeout = 300.0

    def __init__(self, enabled: bool, extra_args: list[str] | None = None) -> None:
        super().__init__(enabled, extra_args)
        has_ext = self._has_extension()
        assert has_ext == enabled, f"extension enabled={has_ext}, wanted {enabled}"

    def _has_extension(self) -> bool:
        try:
            self.get("api/active-sessions/status")
            return True
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return False
            raise

    def http_request(self, path: str, websocket: bool = False) -> HTTPRequest:
        """An authenticated tornado request for `path` on this server."""
        base = f"ws://127.0.0.1:{self.port}/" if websocket else self.url
        return HTTPRequest(base + path, headers=self.auth)

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss


async def idle_kernels(server: Server, kernels: int, timeout: float = 300) -> list[str]:
    """Start `kernels` kernels on `server` and return their ids once each has
    a process. Not once `api/kernels` says idle: with no client connected,
    jupyter_server's model of a kernel stays `starting` (the extension, when
    on, asks the kernel nothing jupyter_server would count). What the
    kernels load after starting is for `run.settled` to wait out."""
    import psutil

    ids = [server.start_kernel() for _ in range(kernels)]
    deadline = time.monotonic() + timeout
    proc = psutil.Process(server.proc.pid)
    while time.monotonic() < deadline:
        listed = server.get("api/kernels")
        if len(listed) == kernels and len(proc.children()) >= kernels:
            return ids
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{kernels} kernels not up after {timeout:.0f} s")


@contextmanager
def servers(*enabled: bool) -> Iterator[list[Server]]:
    started = [Server(e) for e in enabled]
    try:
        yield started
    finally:
        for s in started:
            s.stop()


class Client:
    """One kernel websocket (legacy JSON protocol, as Galata/JupyterLab tests use)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex

    @classmethod
    async def open(cls, server: Server, kernel_id: str) -> Client:
        ws = await websocket_connect(
            server.http_request(f"api/kernels/{kernel_id}/channels", websocket=True)
        )
        client = cls(ws)
        await client.run(["pass"])  # the connection is live and the kernel warm
        return client

    def send(self, code: str, cell_id: str | None = None) -> str:
        msg_id = uuid.uuid4().hex
        self.ws.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "session": self.session,
                        "username": "bench",
                        "date": datetime.now(timezone.utc).isoformat(),
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {"cellId": cell_id} if cell_id else {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        return msg_id

    async def run(
        self,
        codes: list[str],
        cell_ids: list[str] | None = None,
        window: int | None = None,
        stall: float | None = None,
        until_idle: bool = False,
    ) -> float:
        """Send all cells at once (with `window`, at most that many waiting
        for their reply); seconds until every reply has come back. With
        `stall`, raises TimeoutError after that many seconds without a
        message: a reply ZMQ dropped (past its high-water mark, a slow
        server's kernel drops them) would otherwise be waited for forever.
        With `until_idle`, reads on to the kernel's idle after the last
        cell: nothing is left unread (tornado's client stops reading the
        socket, pings included, while two messages wait, and the server
        closes a websocket that does not answer its pings)."""
        start = time.perf_counter()
        todo = list(zip(codes, cell_ids or [None] * len(codes), strict=True))[::-1]
        waiting: set[str] = set()
        last = None
        while todo and (window is None or len(waiting) < window):
            last = self.send(*todo.pop())
            waiting.add(last)
        idle = not until_idle
        while waiting or not idle:
            raw = await asyncio.wait_for(self.ws.read_message(), stall)
            msg = json.loads(raw)
            msg_type = msg["header"]["msg_type"]
            if msg_type == "execute_reply":
                waiting.discard(msg["parent_header"]["msg_id"])
                if todo:
                    last = self.send(*todo.pop())
                    waiting.add(last)
                    idle = not until_idle
            elif msg_type == "status" and msg["parent_header"].get("msg_id") == last:
                idle = idle or msg["content"]["execution_state"] == "idle"
        return time.perf_counter() - start

    async def round_trips(self, n: int) -> list[float]:
        """n sequential execute_request -> execute_reply round trips, in seconds."""
        times = []
        for _ in range(n):
            start = time.perf_counter()
            msg_id = self.send("pass")
            while True:
                msg = json.loads(await self.ws.read_message())
                if (
                    msg["header"]["msg_type"] == "execute_reply"
                    and msg["parent_header"]["msg_id"] == msg_id
                ):
                    break
            times.append(time.perf_counter() - start)
        return times

    def close(self) -> None:
        self.ws.close()


RESULTS = Path(__file__).parent / "RESULTS.md"


def update_results(section: str, text: str) -> None:
    """Replace one section of RESULTS.md (between its markers), keeping the
    others: each benchmark script writes only what it measured."""
    begin, end = f"<!-- {section} -->", f"<!-- /{section} -->"
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{begin}\n{text.strip()}\n{end}"
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(new)


def machine() -> str:
    import platform

    return (
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
