"""Idle culling by the server's own culler (jupyter_server's
`MappingKernelManager.cull_kernels`), as a real server started with
`cull_idle_timeout=6` and `cull_interval=1` does it: the countdown each
session shows, `culled` in the ended list and on /api/events/subscribe, and a
kernel protected with `idle_timeout: 0` left alone."""

from __future__ import annotations

import asyncio
import json

import pytest

from jupyter_session_ext.api.events import SCHEMA_ID

from conftest import poll, ready

# Long enough for a kernel to start on a loaded machine before it may be culled.
TIMEOUT = 6


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "MappingKernelManager": {"cull_idle_timeout": TIMEOUT, "cull_interval": 1},
    }


async def test_the_server_culls_an_idle_kernel_and_says_so(api, jp_ws_fetch):
    events = await jp_ws_fetch("api", "events", "subscribe")
    try:
        kernel = await api.start_kernel()
        s = await api.session(kernel)
        culling = s["culling"]
        assert culling["source"] == "server" and culling["idle_timeout"] == TIMEOUT
        assert culling["cull_busy"] is False and culling["cull_connected"] is False
        assert culling["eligible"] is True and 0 <= culling["seconds_left"] <= TIMEOUT

        async def ended_event() -> dict:
            while True:
                event = json.loads(await events.read_message())
                if (
                    event.get("schema_id") == SCHEMA_ID
                    and event["session_id"] == kernel
                    and event["action"] == "ended"
                ):
                    return event

        event = await asyncio.wait_for(ended_event(), 60)
        assert event["reason"] == "culled" and event["forced"] is False
    finally:
        events.close()
    record = await api.ended_record(kernel)
    assert record["reason"] == "culled" and record["idle_seconds"] >= TIMEOUT


async def test_a_protected_kernel_outlives_the_server_timeout(api):
    protected = await api.start_kernel()
    code, s = await api.call("PATCH", "api", "active-sessions", protected, body={"idle_timeout": 0})
    assert code == 200 and s["culling"] is None and s["idle_timeout"] == 0
    companion = await api.start_kernel()
    await api.wait_session(protected, ready)
    # The companion, idle as long, is culled: the culler did run over both.
    await api.ended_record(companion)
    s = await poll(lambda: api.session(protected), lambda s: s["idle_seconds"] > TIMEOUT + 2)
    assert s["status"] == "ready"
    # Back to the server's rule: culled like any other.
    code, s = await api.call(
        "PATCH", "api", "active-sessions", protected, body={"idle_timeout": None}
    )
    assert s["culling"]["source"] == "server" and s["culling"]["seconds_left"] == 0
    assert (await api.ended_record(protected))["reason"] == "culled"
