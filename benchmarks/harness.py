"""Real servers and a websocket client for the benchmarks: no mocks, no
in-process shortcuts. Each server is a `jupyter server` subprocess on
loopback with its own token, with the extension enabled or disabled."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, enabled: bool, extra_args: list[str] | None = None) -> None:
        self.enabled = enabled
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.dir = Path(tempfile.mkdtemp(prefix="bench-"))
        config = self.dir / "config.json"
        config.write_text(json.dumps(
            {"ServerApp": {"jpserver_extensions": {"jupyter_session_ext": enabled}}}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={config}",
             f"--port={self.port}", "--ip=127.0.0.1", "--no-browser", "--allow-root",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.dir}",
             *(extra_args or [])],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "server.log", "wb"),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("api/status")
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"server did not start; see {self.dir}/server.log")
                time.sleep(0.1)
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

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def http_request(self, path: str, websocket: bool = False) -> HTTPRequest:
        """An authenticated tornado request for `path` on this server."""
        base = f"ws://127.0.0.1:{self.port}/" if websocket else self.url
        return HTTPRequest(base + path, headers=self.auth)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self.auth)
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def start_kernel(self) -> str:
        kernel_id = self.request("POST", "api/kernels", {"name": "python3"})["id"]
        return kernel_id

    def rss(self) -> int:
        import psutil
        return psutil.Process(self.proc.pid).memory_info().rss

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


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
    async def open(cls, server: Server, kernel_id: str) -> "Client":
        ws = await websocket_connect(server.http_request(f"api/kernels/{kernel_id}/channels", websocket=True))
        client = cls(ws)
        await client.run(["pass"])  # the connection is live and the kernel warm
        return client

    def send(self, code: str) -> str:
        msg_id = uuid.uuid4().hex
        self.ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
                       "username": "bench", "date": datetime.now(timezone.utc).isoformat(),
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        return msg_id

    async def run(self, codes: list[str]) -> float:
        """Send all cells at once; seconds until every reply has come back."""
        start = time.perf_counter()
        waiting = {self.send(code) for code in codes}
        while waiting:
            msg = json.loads(await self.ws.read_message())
            if msg["header"]["msg_type"] == "execute_reply":
                waiting.discard(msg["parent_header"]["msg_id"])
        return time.perf_counter() - start

    async def round_trips(self, n: int) -> list[float]:
        """n sequential execute_request -> execute_reply round trips, in seconds."""
        times = []
        for _ in range(n):
            start = time.perf_counter()
            msg_id = self.send("pass")
            while True:
                msg = json.loads(await self.ws.read_message())
                if msg["header"]["msg_type"] == "execute_reply" and \
                        msg["parent_header"]["msg_id"] == msg_id:
                    break
            times.append(time.perf_counter() - start)
        return times

    def close(self) -> None:
        self.ws.close()


def machine() -> str:
    import platform
    return (f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}")
