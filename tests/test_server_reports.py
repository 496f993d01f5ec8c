"""What jupyter_server reports of a kernel (`execution_state`,
`last_activity` and `connections`, in api/kernels, api/kernels/{id} and
api/sessions) is what it would report without the extension: the
extension's own requests to the kernel move none of it.

Two real servers, one with the extension and one without, run the same
steps side by side with real ipykernel kernels, and each reading is taken
once a state has been reached in both (polled, with a deadline)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from store_servers import connect

from jupyter_session_ext.state.message_types import DEFAULT_UNTRACKED_MESSAGE_TYPES

from conftest import ready, started
from server_process import JupyterServer

FIELDS = ("execution_state", "last_activity", "connections")
# A cell that runs until the test lets it end (a file appears): the kernel is
# busy for as long as the test needs to read it so.
CELL = "import os, time\nwhile not os.path.exists({flag!r}):\n    time.sleep(0.01)\n'done'"


def kernel_model(server: JupyterServer, kernel_id: str) -> dict[str, Any] | None:
    """The kernel's model as each of the three routes reports it, None while
    they differ (the kernel's messages land between two reads)."""
    one = server.get(f"api/kernels/{kernel_id}")
    listed = next(k for k in server.get("api/kernels") if k["id"] == kernel_id)
    session = next(s for s in server.get("api/sessions") if s["kernel"]["id"] == kernel_id)
    models = [{f: m[f] for f in FIELDS} for m in (one, listed, session["kernel"])]
    return models[0] if models[0] == models[1] == models[2] else None


async def settle(
    server: JupyterServer, kernel_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The kernel's model once the three routes agree on it and `until` holds
    for it (60 s at most: the machine's two cores run both servers and their
    kernels)."""
    deadline = time.monotonic() + 60
    while True:
        model = kernel_model(server, kernel_id)
        if model is not None and until(model):
            return model
        if time.monotonic() > deadline:
            raise AssertionError(f"state not reached; last model: {model}")
        await asyncio.sleep(0.05)


@pytest.fixture
def servers():
    started: dict[str, JupyterServer] = {}
    try:
        started["with"] = JupyterServer(enabled=True)
        started["without"] = JupyterServer(enabled=False)
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_the_server_reports_what_it_would_without_the_extension(servers, tmp_path):
    readings = asyncio.run(side_by_side(servers, tmp_path))
    steps = list(readings["without"])
    for step in steps:
        for field in ("execution_state", "connections"):
            assert readings["with"][step][field] == readings["without"][step][field], (
                step,
                field,
                readings,
            )
    # last_activity: moved or not since the step before, as without the
    # extension. Not read after the start or the connection: the kernel's
    # start-up messages and the welcome it sends each new IOPub subscriber
    # reach the server in their own time, with or without the extension;
    # the busy status of the cell comes after them, so from there on every
    # reading is after them.
    for before, after in (("connected", "running"), ("running", "ran"), ("ran", "closed")):
        moved = {
            name: by_step[after]["last_activity"] != by_step[before]["last_activity"]
            for name, by_step in readings.items()
        }
        assert moved["with"] == moved["without"], (before, after, readings)
    # What jupyter_server itself does, so the comparison is not of nothing.
    without = readings["without"]
    assert without["started"]["execution_state"] == "starting"
    assert without["running"]["execution_state"] == "busy"
    assert without["running"]["last_activity"] != without["connected"]["last_activity"]
    assert without["closed"]["last_activity"] == without["ran"]["last_activity"]
    assert [without[s]["connections"] for s in steps] == [0, 1, 1, 1, 0]


async def side_by_side(
    servers: dict[str, JupyterServer], tmp_path: Path
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each server's kernel model after each step, by step."""
    readings: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in servers}
    kernels = {}
    for name, server in servers.items():
        body = {"path": "nb.ipynb", "type": "notebook", "name": "nb.ipynb"}
        session = server.request("POST", "api/sessions", {**body, "kernel": {"name": "python3"}})
        kernels[name] = session["kernel"]["id"]

    async def step(name: str, until: Callable[[dict[str, Any]], bool]) -> None:
        for server_name, server in servers.items():
            readings[server_name][name] = await settle(server, kernels[server_name], until)

    # 1. Started: our record says ready (the kernel answered our kernel_info,
    # and its statuses for it have been read). Nobody has connected.
    with_ext = servers["with"]
    deadline = time.monotonic() + 60
    while not ready(with_ext.get(f"api/active-sessions/{kernels['with']}")):
        assert time.monotonic() < deadline, "the kernel never got ready"
        await asyncio.sleep(0.05)
    await step("started", lambda m: True)

    # 2. A client connects: jupyter_server's own nudge (kernel_info on shell
    # and control) makes a starting kernel idle.
    clients = {name: await connect(server, kernels[name]) for name, server in servers.items()}
    try:
        await step("connected", lambda m: m["connections"] == 1 and m["execution_state"] == "idle")

        # 3. A cell runs, and ends: the only busy to idle on the way is its own.
        flags = {name: tmp_path / f"{name}.done" for name in servers}
        msg_ids = {
            name: client.send_execute(CELL.format(flag=str(flags[name])))
            for name, client in clients.items()
        }
        await step("running", lambda m: m["execution_state"] == "busy")
        for name, client in clients.items():
            flags[name].touch()
            result = await client.finished(msg_ids[name])
            assert result["reply"]["status"] == "ok", result
        await step("ran", lambda m: m["execution_state"] == "idle")
    finally:
        for client in clients.values():
            client.close()

    # 4. The client goes.
    await step("closed", lambda m: m["connections"] == 0)
    return readings


class TestWhereTheServerCountsKernelInfo:
    """An operator's `untracked_message_types` without kernel_info: the
    server counts the statuses for a kernel_info_request as activity, and
    takes their execution_state as the kernel's. Ours it must not count."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        untracked = sorted(
            t for t in DEFAULT_UNTRACKED_MESSAGE_TYPES if not t.startswith("kernel_info")
        )
        return {**jp_server_config, "MappingKernelManager": {"untracked_message_types": untracked}}

    async def test_our_kernel_info_is_not_counted(self, api, registry, jp_serverapp):
        manager = jp_serverapp.kernel_manager
        assert manager.track_message_type("kernel_info_request")
        # Ready: the kernel answered our kernel_info, and its statuses for it
        # have been read.
        kernel_id = await started(api)
        tracked = registry.get(kernel_id)
        assert (await api.get("api", "kernels", kernel_id))["execution_state"] == "starting"
        assert manager.get_kernel(kernel_id).execution_state == "starting"
        # Nor does our record take our own request for the kernel's work.
        assert tracked.state.status == "ready"
        # Asked again (as after a restart, or while it seemed offline).
        channels = registry.tracker.channels[kernel_id]
        first = channels.kernel_info_task
        registry.tracker._request_kernel_info(tracked)
        assert channels.kernel_info_task not in (None, first)
        await asyncio.wait_for(channels.kernel_info_task, 30)
        assert channels.iopub.own_answered.is_set()
        assert manager.get_kernel(kernel_id).execution_state == "starting"
        assert tracked.state.status == "ready"
