"""Beside jupyter-resource-usage (its real server extension): its Kernel
Usage panel polls `api/metrics/v1/kernel_usage/get_usage/{id}`, which sends
the kernel a `usage_request` on its control channel; ipykernel publishes a
busy and an idle for it. That must neither end a running cell's busy period
nor restart an idle kernel's idle time."""

from __future__ import annotations

import copy

import pytest

from conftest import poll, started


@pytest.fixture
def jp_server_config(jp_server_config):
    config = copy.deepcopy(jp_server_config)
    config["ServerApp"]["jpserver_extensions"]["jupyter_resource_usage"] = True
    return config


async def usage(api, kernel_id: str) -> dict:
    """What the Kernel Usage panel asks for, once; the kernel has answered."""
    data = await api.get("api", "metrics", "v1", "kernel_usage", "get_usage", kernel_id)
    assert data["content"].get("kernel_cpu") is not None, data
    return data


async def test_a_usage_poll_leaves_an_idle_kernels_timer(api):
    kernel = await started(api)
    before = await api.wait_session(kernel, lambda s: s["idle_seconds"] >= 2)
    for _ in range(3):
        await usage(api, kernel)
    after = await api.session(kernel)
    assert after["status"] == before["status"] == "ready"
    assert after["idle_seconds"] >= before["idle_seconds"]


async def test_a_usage_poll_during_a_cell_leaves_it_busy(api, open_client):
    kernel, ws = await started(api, open_client)
    msg_id = ws.send_execute("import time; time.sleep(5)", cell_id="sleepy")
    await api.wait_session(
        kernel,
        lambda s: (
            s["status"] == "busy" and (s["execution_queue"]["active"] or {}).get("msg_id") == msg_id
        ),
    )
    for _ in range(3):
        await usage(api, kernel)
        s = await api.session(kernel)
        assert s["status"] == "busy", s["status"]
        assert s["execution_queue"]["active"]["cell_id"] == "sleepy"
    s = await api.wait_session(kernel, lambda s: s["busy_seconds"] >= 2)
    assert s["status"] == "busy"
    done = await poll(lambda: api.session(kernel), lambda s: s["status"] == "idle", 30)
    assert done["execution_queue"]["active"] is None
