"""Prometheus metrics on the server's own /metrics, read from real kernels.

jupyter_server serves /metrics to any logged-in user without asking its
Authorizer: by default no series names a kernel; `SessionMetrics.per_kernel`
adds them."""

from __future__ import annotations

import asyncio

import pytest
from jupyter_server.auth.authorizer import Authorizer

from conftest import poll, ready

PER_KERNEL_FAMILIES = (
    "queue_length",
    "busy_seconds",
    "idle_seconds",
    "executions_total",
    "restarts_total",
    "cull_seconds_left",
    "kernel_memory_bytes",
)


def per_kernel(config: dict) -> dict:
    return {**config, "SessionMetrics": {"per_kernel": True}}


async def scrape(jp_fetch) -> str:
    return (await jp_fetch("metrics")).body.decode()


def sample(text: str, name: str) -> float | None:
    """The value of a series without labels, if it is there."""
    rows = [row for row in text.splitlines() if row.startswith(name + " ")]
    return float(rows[0].split()[-1]) if rows else None


async def queued_behind_a_long_cell(api, open_client, kernel_id: str) -> None:
    """The kernel runs a 3 s cell with one more waiting behind it."""
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    for _ in range(3):
        await client.execute("x = 1")
    client.send_execute("import time; time.sleep(3)")
    client.send_execute("y = 2")
    await api.wait_session(
        kernel_id, lambda s: s["execution_queue"]["length"] == 1 and s["status"] == "busy"
    )


async def test_no_series_names_a_kernel_by_default(api, jp_fetch, open_client, env_kernelspec):
    kernel_id = await api.start_kernel(name=env_kernelspec)
    await queued_behind_a_long_cell(api, open_client, kernel_id)
    text = await scrape(jp_fetch)
    ours = [row for row in text.splitlines() if "jupyter_active_sessions_" in row]
    assert kernel_id not in text
    assert not [row for row in ours if "session_id" in row or env_kernelspec in row]
    for family in PER_KERNEL_FAMILIES:
        assert not [row for row in ours if f"jupyter_active_sessions_{family}" in row], family
    # The server's figures are all there.
    lines = set(text.splitlines())
    assert 'jupyter_active_sessions_sessions{status="busy"} 1.0' in lines
    assert "jupyter_active_sessions_queued_executions 1.0" in lines
    assert sample(text, "jupyter_active_sessions_busy_kernel_seconds") is not None
    assert sample(text, "jupyter_active_sessions_oom_kills_total") == 0
    # The kernels' memory, once sampled.
    memory = "jupyter_active_sessions_kernels_memory_bytes"
    text = await poll(lambda: scrape(jp_fetch), lambda t: (sample(t, memory) or 0) > 0)
    assert sample(text, memory) > 10 * 2**20  # a Python kernel's tens of MB


class RefuseKernels(Authorizer):
    """Logged in, and allowed nothing on kernels."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "kernels"


class TestAUserRefusedKernels:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        server = {**jp_server_config["ServerApp"], "authorizer_class": "test_metrics.RefuseKernels"}
        return {**jp_server_config, "ServerApp": server}

    async def test_reads_no_kernel_on_metrics(self, api, jp_fetch, jp_serverapp, registry):
        kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
        assert (await api.call("GET", "api", "kernels"))[0] == 403
        await poll(
            lambda: asyncio.sleep(0, result=registry.snapshot()),
            lambda tracked: [t.state.status for t in tracked] == ["ready"],
        )
        # jupyter_server answers /metrics without asking the Authorizer.
        text = await scrape(jp_fetch)
        assert 'jupyter_active_sessions_sessions{status="ready"} 1.0' in text.splitlines()
        assert kernel_id not in text
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)


async def test_ended_metric_by_reason(api, jp_fetch):
    killed = await api.start_kernel()
    shut_down = await api.start_kernel()
    for k in (killed, shut_down):
        await api.wait_session(k, ready)
    code, _ = await api.call("POST", "api", "active-sessions", killed, "kill")
    assert code == 204
    code, _ = await api.call("DELETE", "api", "kernels", shut_down)
    assert code == 204
    lines = set((await scrape(jp_fetch)).splitlines())
    assert 'jupyter_active_sessions_ended_total{forced="true",reason="shutdown"} 1.0' in lines
    assert 'jupyter_active_sessions_ended_total{forced="false",reason="shutdown"} 1.0' in lines


class TestPerKernel:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return per_kernel(jp_server_config)

    async def test_metrics_on_the_servers_endpoint(self, api, jp_fetch, open_client):
        kernel_id = await api.start_kernel()
        await queued_behind_a_long_cell(api, open_client, kernel_id)
        labels = f'kernel_name="python3",session_id="{kernel_id}"'
        text = await poll(
            lambda: scrape(jp_fetch),
            lambda t: f"jupyter_active_sessions_kernel_memory_bytes{{{labels}}}" in t,
        )
        lines = set(text.splitlines())
        assert 'jupyter_active_sessions_sessions{status="busy"} 1.0' in lines
        assert 'jupyter_active_sessions_sessions{status="exited"} 0.0' in lines
        assert f"jupyter_active_sessions_queue_length{{{labels}}} 1.0" in lines
        assert f"jupyter_active_sessions_executions_total{{{labels}}} 4.0" in lines
        assert f"jupyter_active_sessions_restarts_total{{{labels}}} 0.0" in lines
        assert any(
            line.startswith(f"jupyter_active_sessions_busy_seconds{{{labels}}}") for line in lines
        )
        # The totals are there too.
        assert "jupyter_active_sessions_queued_executions 1.0" in lines

    async def test_cull_countdown_metric(self, api, jp_fetch):
        kernel = await api.start_kernel()
        await api.wait_session(kernel, ready)
        await api.call("PATCH", "api", "active-sessions", kernel, body={"idle_timeout": 3600})
        text = await scrape(jp_fetch)
        labels = f'kernel_name="python3",session_id="{kernel}"'
        line = next(
            row
            for row in text.splitlines()
            if row.startswith(f"jupyter_active_sessions_cull_seconds_left{{{labels}}}")
        )
        assert 3500 < float(line.split()[-1]) <= 3600
