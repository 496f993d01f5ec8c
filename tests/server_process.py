"""Real servers in subprocesses, on loopback: start one and wait until it
answers. Used by the tests that cannot share the test's event loop (fuzzing,
the kernel gateway) and by the benchmarks."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# The folders a Jupyter server, its kernels and IPython write into in the
# user's home unless told otherwise: the store, runtime files (left behind by
# a killed server), a cookie secret, the kernels' history. Every process
# started here gets folders of its own, so a test run leaves the user's as it
# found them (`make test` checks: tests/untouched_dirs.py).
DIR_VARIABLES = {
    "JUPYTER_CONFIG_DIR": "config",
    "JUPYTER_DATA_DIR": "data",
    "JUPYTER_RUNTIME_DIR": "runtime",
    "IPYTHONDIR": "ipython",
}


def own_dirs(root: Path) -> dict[str, str]:
    """The variables of DIR_VARIABLES, each a folder under `root`. The
    extension's own config is still found: it is installed under the
    environment's `etc/jupyter`, not in JUPYTER_CONFIG_DIR."""
    return {name: str(root / sub) for name, sub in DIR_VARIABLES.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_and_wait(
    argv: list[str],
    probe: str,
    log: Path,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` (its stderr to `log`) and return once `probe` answers
    an HTTP request (any status but a refused connection counts). Its
    Jupyter and IPython folders are under the log's folder (the process's
    own temporary folder) unless `env` names them."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
        env={**os.environ, **own_dirs(log.parent / "home"), **(env or {})},
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(probe, headers=headers or {}), timeout=5)
            return proc
        except urllib.error.HTTPError:
            return proc  # it answers, if not with 200
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"{argv[2]} did not start; see {log}:\n" + log.read_text()[-2000:]
                ) from None
            time.sleep(0.1)


def start_until_listening(
    argv: list[str],
    port: int,
    log: Path,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` (its stderr to `log`) and return as soon as `port` takes a
    connection, having sent no request: what a client that was waiting for
    the server meets first is then the test's to ask."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
        env={**os.environ, **own_dirs(log.parent / "home"), **(env or {})},
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"{argv[2]} did not listen; see {log}:\n" + log.read_text()[-2000:]
                ) from None
            time.sleep(0.01)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


class JupyterServer:
    """`jupyter server` (or another server app, e.g. `app="jupyterlab"`) with
    its own token, root directory, Jupyter data directory (where the store
    is) and log, with this extension enabled or not. `{dir}` in an extra
    argument stands for the server's own temporary folder. Servers given one
    `data_dir` share their store, as one user's servers do; `restart` starts
    the same server again (same port, token and folders)."""

    # Seconds a start may take before it counts as failed.
    start_timeout = 60.0

    def __init__(
        self,
        enabled: bool = True,
        extra_args: list[str] | None = None,
        root: Path | None = None,
        app: str = "jupyter_server",
        data_dir: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        """`python`: the interpreter to run it with (a peer's venv, say)."""
        self.enabled = enabled
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.dir = Path(tempfile.mkdtemp(prefix="jupyter-server-"))
        self.root = root or self.dir
        self.log = self.dir / "server.log"
        config = self.dir / "config.json"
        self.data_dir = data_dir or self.dir / "data"
        config.write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_session_ext": enabled}}})
        )
        self.argv = [
            python,
            "-m",
            app,
            f"--config={config}",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            "--no-browser",
            "--allow-root",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            *(a.format(dir=self.dir) for a in extra_args or []),
        ]
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return start_and_wait(
            self.argv,
            self.url + "api/status",
            self.log,
            headers=self.auth,
            timeout=self.start_timeout,
            env=self.env,
        )

    @property
    def env(self) -> dict[str, str]:
        """Its data dir (the store), which servers may share; its other
        folders are its own (start_and_wait)."""
        return {"JUPYTER_DATA_DIR": str(self.data_dir)}

    def restart(self, listening: bool = False) -> None:
        """Start the server again after it stopped or was killed; with
        `listening`, return once its port is open, before any request."""
        if listening:
            self.proc = start_until_listening(self.argv, self.port, self.log, env=self.env)
        else:
            self.proc = self._start()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """JSON in and out; `path` is relative to the base URL (no leading /)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self.auth)
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def start_kernel(self) -> str:
        return self.request("POST", "api/kernels", {"name": "python3"})["id"]

    def run_cells(self, kernel_id: str, cells: list[tuple[str, str | None]]) -> list[Any]:
        """Run each (code, cell id) in turn over the kernel's websocket, as a
        browser would; the replies' contents."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        from kernel_websocket import KernelWebsocket

        async def run() -> list[Any]:
            ws = await websocket_connect(
                HTTPRequest(
                    f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels",
                    headers=self.auth,
                    connect_timeout=60,  # servers share 2 cores
                    request_timeout=60,
                )
            )
            client = KernelWebsocket(ws, v1=False)
            try:
                return [
                    (await client.finished(client.send_execute(code, cell_id)))["reply"]
                    for code, cell_id in cells
                ]
            finally:
                client.close()

        return asyncio.run(run())

    def stop(self) -> None:
        stop(self.proc)
