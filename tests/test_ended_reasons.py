"""Why a kernel ended when nobody asked: its process exited or was killed
and jupyter_client's restarter gave up (here at once: restart_limit=0, so
jupyter_server drops the kernel the moment it finds it dead), and the server
stopping with kernels running."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from conftest import events_until, poll, ready


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "KernelRestarter": {"restart_limit": 0},
        # No periodic check: the kernel is gone before the tracker looks at
        # its process, as when the restarter is quicker than poll_interval.
        "SessionRegistry": {"poll_interval": 600},
    }


async def dropped(jp_serverapp, kernel_id):
    """Until jupyter_server's kernel manager no longer lists the kernel, asking
    it directly (our routes would look at the process first)."""
    await poll(
        lambda: asyncio.sleep(0, result=jp_serverapp.kernel_manager.list_kernel_ids()),
        lambda ids: kernel_id not in ids,
        60,
    )


async def test_a_kernel_that_exits_and_is_not_restarted(api, open_client, jp_serverapp):
    kernel = await api.start_kernel()
    await api.wait_session(kernel, ready)
    client = await open_client(kernel)
    await client.execute("x = 1", cell_id="before")
    client.send_execute("import os; os._exit(3)", cell_id="exits")
    await dropped(jp_serverapp, kernel)
    record = await api.ended_record(kernel)
    assert record["reason"] == "exited" and record["exit_code"] == 3
    assert record["signal"] is None and record["by"] is None and record["forced"] is False
    assert record["last_execution"]["cell_id"] == "before"


async def test_a_kernel_killed_by_a_signal_and_not_restarted(api, jp_serverapp):
    kernel = await api.start_kernel()
    s = await api.wait_session(kernel, ready)
    os.kill(s["process_id"], signal.SIGKILL)
    await dropped(jp_serverapp, kernel)
    record = await api.ended_record(kernel)
    assert record["reason"] == "killed" and record["signal"] == 9
    assert record["exit_code"] is None


async def test_kernels_running_when_the_server_stops(api, registry, session_events):
    kernel = await api.start_kernel()
    await api.wait_session(kernel, ready)
    # What the server's stop does first (the kernels are shut down after).
    registry.stop(server_stopping=True)
    record = next(r for r in registry.ended.records() if r.session_id == kernel)
    assert record.reason == "server_stopped" and record.by is None
    events = await events_until(
        session_events,
        lambda ev: any(e["action"] == "ended" and e["session_id"] == kernel for e in ev),
    )
    assert next(e for e in events if e["action"] == "ended")["reason"] == "server_stopped"
