"""A real jupyter_server (pytest-jupyter) with this extension enabled, behind
authentication, running real ipykernel kernels."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from jupyter_session_ext.api.events import SCHEMA_ID
from jupyter_session_ext.registry import SessionRegistry

from server_process import own_dirs

pytest_plugins = ("pytest_jupyter.jupyter_server",)

# Whatever a test starts outside server_process (the CLI, a peer's
# interpreter) gets Jupyter and IPython folders of the session, not the
# user's; pytest-jupyter gives each in-process server folders of its own.
SESSION_DIRS = Path(tempfile.mkdtemp(prefix="jse-test-dirs-"))
os.environ.update(own_dirs(SESSION_DIRS))


def pytest_unconfigure(config):
    shutil.rmtree(SESSION_DIRS, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Every test under a node id of its own. pytest-xdist (`make test`)
    hands tests to its processes by node id, and an id several tests share
    runs the first of them only, silently. schemathesis (4.32) makes its
    tests, one per API operation, with no parametrization pytest knows of,
    and pytest 9.2 builds an id from that alone: the same for all of them.
    Each gets its operation's name as its parameters, as in its name."""
    for item in items:
        tail = item.nodeid.rsplit("::", 1)[-1]
        if "[" not in tail and item.name.startswith(tail + "[") and hasattr(item, "_id"):
            item._id = item._id.with_params(item.name[len(tail) + 1 : -1])
    shared = [nodeid for nodeid, n in Counter(i.nodeid for i in items).items() if n > 1]
    if shared:
        raise pytest.UsageError(f"tests sharing a node id (xdist would run one): {shared}")


def ready(session: dict[str, Any]) -> bool:
    """A started kernel that has answered kernel_info and run nothing yet."""
    return session["status"] == "ready"


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_session_ext": True},
            # Every route must be refused without credentials.
            "allow_unauthenticated_access": False,
        },
        # Check the kernels often so tests see deaths and restarts quickly.
        "SessionRegistry": {"poll_interval": 0.2, "resource_sampling_interval": 0.2},
    }


class Api:
    """JSON over jp_fetch: returns (status code, decoded body or None)."""

    def __init__(self, fetch: Callable[..., Awaitable[Any]]) -> None:
        self._fetch = fetch

    async def call(
        self, method: str, *parts: str, body: Any = None, raw: bytes | None = None, **kw: Any
    ) -> tuple[int, Any]:
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PATCH", "PUT"):
            raw = b"{}" if method != "PATCH" else b""
        resp = await self._fetch(*parts, method=method, body=raw, raise_error=False, **kw)
        text = resp.body.decode() if resp.body else ""
        return resp.code, (json.loads(text) if text else None)

    async def get(self, *parts: str, **kw: Any) -> Any:
        code, data = await self.call("GET", *parts, **kw)
        assert code == 200, (code, data)
        return data

    async def start_kernel(self, **body: Any) -> str:
        code, data = await self.call("POST", "api", "kernels", body={"name": "python3", **body})
        assert code == 201, (code, data)
        return data["id"]

    async def start_session(self, path: str, type: str, name: str | None = None) -> dict[str, Any]:
        code, data = await self.call(
            "POST",
            "api",
            "sessions",
            body={"path": path, "type": type, "name": name or path, "kernel": {"name": "python3"}},
        )
        assert code == 201, (code, data)
        return data

    async def session(self, kernel_id: str) -> dict[str, Any]:
        return await self.get("api", "active-sessions", kernel_id)

    async def wait_session(
        self, kernel_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """Poll one session until `until` holds (the state has been reached)."""
        return await poll(lambda: self.session(kernel_id), until, timeout)

    async def ended_record(self, kernel_id: str, timeout: float = 60) -> dict[str, Any]:
        """The kernel's record in `api/active-sessions/ended`, once it is there."""
        data = await poll(
            lambda: self.get("api", "active-sessions", "ended"),
            lambda d: any(s["session_id"] == kernel_id for s in d["sessions"]),
            timeout,
        )
        return next(s for s in data["sessions"] if s["session_id"] == kernel_id)


async def poll(
    read: Callable[[], Awaitable[Any]], until: Callable[[Any], bool], timeout: float = 30
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"state not reached in {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


async def started(api: Api, open_client: Any = None) -> Any:
    """A ready kernel, and a websocket client on it when open_client is given."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    if open_client is None:
        return kernel_id
    return kernel_id, await open_client(kernel_id)


@pytest.fixture
def api(jp_fetch) -> Api:
    return Api(jp_fetch)


@pytest.fixture
def env_kernelspec(jp_data_dir):
    """A python kernelspec that sets variables, some secret-looking, and
    interrupts by message."""
    spec_dir = jp_data_dir / "kernels" / "python-env"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (with env)",
                "language": "python",
                "interrupt_mode": "message",
                "env": {
                    "MY_SETTING": "42",
                    "API_TOKEN": "s3cret-token",
                    "db_password": "hunter2",
                    "AWS_SECRET_ACCESS_KEY": "abc",
                },
            }
        )
    )
    return "python-env"


@pytest.fixture
def registry(jp_serverapp) -> SessionRegistry:
    """The extension's registry inside the test server."""
    return jp_serverapp.extension_manager.extension_points["jupyter_session_ext"].app.registry


@pytest.fixture
def session_events(jp_serverapp):
    """Every active-session event the server emits while the test runs, in
    order (listeners run as tasks: poll for what you expect)."""
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=SCHEMA_ID, listener=listener)
    yield received
    jp_serverapp.event_logger.remove_listener(listener=listener)


async def events_until(
    received: list[dict[str, Any]],
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30,
) -> list[dict[str, Any]]:
    """Poll the `session_events` list until `until` holds."""
    return await poll(lambda: asyncio.sleep(0, result=received), until, timeout)


@pytest.fixture
def open_client(jp_ws_fetch):
    """Opens kernel websockets (KernelWebsocket) and closes them after the test,
    before the server stops."""
    from kernel_websocket import KernelWebsocket

    opened: list[KernelWebsocket] = []

    async def open_(kernel_id: str, v1: bool = False) -> KernelWebsocket:
        ws = await KernelWebsocket.open(jp_ws_fetch, kernel_id, v1=v1)
        opened.append(ws)
        return ws

    yield open_
    for ws in opened:
        ws.close()


# Hypothesis: a bounded number of examples in `make test`, many more in
# `make fuzz` (HYPOTHESIS_PROFILE=fuzz). No deadline: the machines are shared.
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
