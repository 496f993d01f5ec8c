"""The live parts of a session: queue, status, timers, stdin, clients, cwd,
resources and events, driven through real websockets to real kernels."""

from __future__ import annotations

import asyncio
import json
import os

import psutil
import pytest

from jupyter_session_ext.api.encoder import SessionEncoder
from jupyter_session_ext.api.events import BURST, SCHEMA_ID
from jupyter_session_ext.traffic.websocket import ObservedConnectionMixin

from conftest import events_until, poll, ready, started


def test_websocket_connection_class_is_observed(jp_serverapp):
    cls = jp_serverapp.web_app.settings["kernel_websocket_connection_class"]
    assert issubclass(cls, ObservedConnectionMixin)
    assert jp_serverapp.kernel_websocket_connection_class is cls


async def test_ready_means_iopub_is_live(api, registry):
    """A kernel is `ready` only once our IOPub subscription receives: a cell
    sent the moment it turns ready must not have its busy and execute_input
    published into a subscription still connecting (ZMQ's slow joiner)."""
    for _ in range(5):
        kernel_id = await api.start_kernel()
        await api.wait_session(kernel_id, ready)
        registry.get(kernel_id)
        channels = registry.tracker.channels[kernel_id]
        assert channels.iopub is not None and channels.iopub.live.is_set()


@pytest.mark.parametrize("v1", [False, True], ids=["json-protocol", "v1-protocol"])
async def test_queue_while_cells_run(api, open_client, tmp_path, v1):
    kernel = await started(api)
    ws = await open_client(kernel, v1=v1)
    try:
        cells = [
            ("cell-sleep", "import time, os\ntime.sleep(3)"),
            ("cell-x", "x = 41"),
            ("cell-cd", f"os.chdir({str(tmp_path)!r}); x += 1"),
        ]
        ids = [ws.send_execute(code, cell_id=cell) for cell, code in cells]

        # The count comes with execute_input, a message after the busy status
        # that starts the entry: wait for both (a loaded machine reads them apart).
        s = await api.wait_session(
            kernel,
            lambda s: (
                s["status"] == "busy"
                and (s["execution_queue"]["active"] or {}).get("cell_id") == "cell-sleep"
                and s["execution_queue"]["active"]["execution_count"] is not None
                and s["execution_queue"]["length"] == 2
            ),
        )
        queue = s["execution_queue"]
        active = queue["active"]
        assert active["msg_id"] == ids[0] and active["code"] == cells[0][1]
        assert active["client_session_id"] == ws.session
        assert active["started"] is not None and active["execution_count"] == 1
        assert isinstance(active["username"], str) and active["username"]
        assert [p["msg_id"] for p in queue["pending"]] == ids[1:]
        assert [p["cell_id"] for p in queue["pending"]] == ["cell-x", "cell-cd"]
        assert all(p["started"] is None for p in queue["pending"])
        assert s["idle_seconds"] == 0

        s = await api.wait_session(kernel, lambda s: s["busy_seconds"] >= 1)
        assert s["status"] == "busy" and s["idle_seconds"] == 0
        status = await api.get("api", "active-sessions", "status")
        assert status["busy"] and status["busy_seconds"] >= 1 and status["idle_seconds"] == 0

        await ws.finished(ids[-1])
        # Our IOPub subscription may be a message or two behind this client's:
        # an earlier cell's idle is not the end. The last cell's count is.
        s = await api.wait_session(
            kernel, lambda s: s["status"] == "idle" and s["execution_count"] == 3
        )
        assert s["execution_queue"] == {"active": None, "pending": [], "length": 0}
        assert s["busy_seconds"] == 0
        assert s["execution_count"] == 3
        assert s["working_directory"] == str(tmp_path) == psutil.Process(s["process_id"]).cwd()
        s = await api.wait_session(kernel, lambda s: s["idle_seconds"] >= 1)
        assert s["status"] == "idle"
    finally:
        ws.close()


async def test_cell_code_is_cut_to_the_preview_length(api, open_client, registry):
    kernel, client = await started(api, open_client)
    registry.get(kernel).state.code_preview_length = 10
    client.send_execute("import time; time.sleep(2)  # a long comment that is cut")
    s = await api.wait_session(kernel, lambda s: s["execution_queue"]["active"] is not None)
    assert s["execution_queue"]["active"]["code"] == "import tim"
    assert s["execution_queue"]["active"]["code_truncated"] is True


async def test_input_shows_awaiting_input_until_answered(api, open_client):
    kernel, client = await started(api, open_client)
    msg_id = client.send_execute("name = input('Your name? ')", allow_stdin=True)
    request = await client.wait_for(lambda m: m["header"]["msg_type"] == "input_request")
    s = await api.wait_session(kernel, lambda s: s["awaiting_input"] is not None)
    assert s["awaiting_input"] == {"prompt": "Your name? ", "password": False}
    assert s["status"] == "busy"
    client.send("stdin", "input_reply", {"value": "Ada"}, parent=request["header"])
    await client.finished(msg_id)
    s = await api.wait_session(kernel, lambda s: s["status"] == "idle")
    assert s["awaiting_input"] is None

    msg_id = client.send_execute(
        "import getpass; pw = getpass.getpass('Password: ')", allow_stdin=True
    )
    request = await client.wait_for(
        lambda m: (
            m["header"]["msg_type"] == "input_request" and m["parent_header"]["msg_id"] == msg_id
        )
    )
    s = await api.wait_session(kernel, lambda s: s["awaiting_input"] is not None)
    assert s["awaiting_input"] == {"prompt": "Password: ", "password": True}
    client.send("stdin", "input_reply", {"value": "secret"}, parent=request["header"])
    await client.finished(msg_id)
    s = await api.wait_session(kernel, lambda s: s["awaiting_input"] is None)


async def test_error_with_stop_on_error_empties_the_queue(api, open_client):
    kernel, client = await started(api, open_client)
    first = client.send_execute("import time; time.sleep(1); raise ValueError('boom')")
    rest = [client.send_execute(f"y = {i}") for i in range(3)]
    assert (await client.finished(first))["reply"]["status"] == "error"
    for msg_id in rest:
        assert (await client.finished(msg_id))["reply"]["status"] == "aborted"
    s = await api.wait_session(kernel, lambda s: s["status"] == "idle")
    assert s["execution_queue"] == {"active": None, "pending": [], "length": 0}
    assert s["execution_count"] == 1


async def test_interrupt_drops_the_active_cell(api, open_client):
    kernel, client = await started(api, open_client)
    running = client.send_execute("import time; time.sleep(60)")
    await api.wait_session(kernel, lambda s: s["execution_queue"]["active"] is not None)
    code, _ = await api.call("POST", "api", "active-sessions", kernel, "interrupt")
    assert code == 200
    assert (await client.finished(running))["reply"]["ename"] == "KeyboardInterrupt"
    s = await api.wait_session(kernel, lambda s: s["status"] == "idle")
    assert s["execution_queue"]["active"] is None


async def test_restart_clears_the_queue(api, open_client):
    kernel, client = await started(api, open_client)
    client.send_execute("import time; time.sleep(60)")
    client.send_execute("1 + 1")
    before = await api.wait_session(kernel, lambda s: s["execution_queue"]["length"] == 1)
    code, s = await api.call("POST", "api", "active-sessions", kernel, "restart")
    assert code == 200
    assert s["execution_queue"] == {"active": None, "pending": [], "length": 0}
    assert s["restart_count"] == 1 and s["process_id"] != before["process_id"]
    assert s["execution_count"] is None


async def test_two_clients_and_a_client_leaving_mid_cell(api, open_client):
    kernel = await started(api)
    first = await open_client(kernel)
    second = await open_client(kernel)
    s = await api.wait_session(kernel, lambda s: s["connections"] == 2)
    assert s["connected"]
    # Both connections carry requests end to end before the test proper.
    await first.execute("pass")
    await second.execute("pass")

    first.send_execute("import time; time.sleep(2)", cell_id="from-first")
    # The kernel takes requests from two connections in no set order: send the
    # second once the first runs.
    await api.wait_session(kernel, lambda s: s["execution_queue"]["active"] is not None)
    second_id = second.send_execute("z = 1", cell_id="from-second")
    s = await api.wait_session(kernel, lambda s: s["execution_queue"]["length"] == 1)
    assert s["execution_queue"]["active"]["client_session_id"] == first.session
    assert s["execution_queue"]["pending"][0]["client_session_id"] == second.session

    first.close()  # leaves while its cell runs: the cell still shows, from IOPub
    s = await api.wait_session(kernel, lambda s: s["connections"] == 1)
    assert s["execution_queue"]["active"]["cell_id"] == "from-first"
    await second.finished(second_id)
    s = await api.wait_session(kernel, lambda s: s["status"] == "idle")
    assert s["execution_queue"]["length"] == 0 and s["connected"]
    second.close()
    s = await api.wait_session(kernel, lambda s: not s["connected"])
    assert s["connections"] == 0


async def test_client_bypassing_the_server_is_seen_on_iopub(api, jp_serverapp):
    """A client that talks to the kernel directly (here jupyter_client with the
    connection file) still shows as busy, running its code."""
    kernel = await started(api)
    km = jp_serverapp.kernel_manager.get_kernel(kernel)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=30)
        code = "import time; time.sleep(2)  # direct"
        kc.execute(code)
        # The kernel's `busy` comes before its `execute_input`: between the two
        # the cell runs with its code not yet known, so wait for the code.
        s = await api.wait_session(
            kernel, lambda s: (s["execution_queue"]["active"] or {}).get("code") == code
        )
        assert s["status"] == "busy"
        assert s["execution_queue"]["length"] == 0
        await api.wait_session(kernel, lambda s: s["status"] == "idle", timeout=30)
    finally:
        kc.stop_channels()


async def test_resource_usage_covers_the_kernel_and_its_children(api, open_client):
    kernel, client = await started(api, open_client)
    s = await api.wait_session(kernel, lambda s: s["resource_usage"] is not None)
    usage = s["resource_usage"]
    assert set(usage) == {
        "cpu_percent",
        "memory_bytes",
        "thread_count",
        "sampling_period_ms",
        "timestamp",
    }
    assert usage["sampling_period_ms"] == 200
    rss = psutil.Process(s["process_id"]).memory_info().rss
    assert 0.5 * rss < usage["memory_bytes"] < 2 * rss
    before = usage["memory_bytes"]
    # A child process holding 300 MB must count.
    await client.execute(
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        '\'import time; b = bytearray(300_000_000); b[::4096] = b"x" * len(b[::4096]); '
        "print(1, flush=True); time.sleep(60)'], stdout=subprocess.PIPE)\n"
        "child.stdout.readline()"
    )
    s = await api.wait_session(
        kernel, lambda s: (s["resource_usage"] or {}).get("memory_bytes", 0) > before + 250e6
    )
    await client.execute("child.kill(); child.wait()")
    await api.wait_session(
        kernel, lambda s: (s["resource_usage"] or {}).get("memory_bytes", 1e12) < before + 100e6
    )


async def test_events_for_busy_and_idle(api, open_client, jp_ws_fetch):
    kernel, client = await started(api, open_client)
    events = await jp_ws_fetch("api", "events", "subscribe")
    try:
        msg_id = client.send_execute("import time; time.sleep(1)", cell_id="evented")
        seen = []

        async def until_idle() -> None:
            while True:
                event = json.loads(await events.read_message())
                if event.get("schema_id") != SCHEMA_ID or event["session_id"] != kernel:
                    continue
                seen.append(event)
                if event["status"] == "idle":
                    return

        await asyncio.wait_for(until_idle(), 30)
        await client.finished(msg_id)
        busy = [e for e in seen if e["status"] == "busy"]
        assert busy, seen
        assert any(e["active_cell_id"] == "evented" for e in busy)
        assert seen[-1]["status"] == "idle" and seen[-1]["queue_length"] == 0
        for event in seen:
            assert event["action"] in event["changes"]
            assert {"session_id", "action", "status"} <= set(event)
    finally:
        events.close()


async def test_events_are_coalesced_in_a_burst(api, open_client, registry, session_events):
    kernel, client = await started(api, open_client)
    ids = [client.send_execute("pass") for _ in range(300)]
    await client.finished(ids[-1])
    await api.wait_session(
        kernel, lambda s: s["status"] == "idle" and s["execution_queue"]["length"] == 0
    )
    await asyncio.sleep(2 * registry.events.coalesce_interval)  # the trailing event
    received = [e for e in session_events if e["session_id"] == kernel]
    # 300 executions make >1,200 state changes; a few events per 100 ms pass.
    assert 1 <= len(received) < 300
    assert received[-1]["status"] == "idle" and received[-1]["queue_length"] == 0


async def test_a_quiet_session_turning_busy_is_not_delayed(
    api, open_client, registry, session_events
):
    """One short cell on a quiet kernel is five changes (submitted, busy,
    started, replied, idle); all go out at once, not after the coalescing window."""
    kernel, client = await started(api, open_client)
    events = registry.events

    async def bucket() -> float:
        pending = events._pending[kernel]
        pending.refill(events.coalesce_interval, BURST)
        return pending.tokens

    await poll(bucket, lambda tokens: tokens == BURST)  # the session is quiet
    saved, events.coalesce_interval = events.coalesce_interval, 10.0
    start = len(session_events)
    try:
        await client.finished(client.send_execute("pass"))

        def mine(received: list[dict]) -> list[dict]:
            return [e for e in received[start:] if e["session_id"] == kernel]

        # Well before the 10 s window would have released a trailing event.
        await events_until(
            session_events,
            lambda r: (
                any(e["status"] == "busy" for e in mine(r))
                and mine(r)[-1]["status"] == "idle"
                and mine(r)[-1]["queue_length"] == 0
            ),
            timeout=8,
        )
    finally:
        events.coalesce_interval = saved


async def test_added_and_removed_events(api, session_events):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    code, _ = await api.call("DELETE", "api", "active-sessions", kernel_id)
    assert code == 204

    def actions(received: list[dict]) -> list[str]:
        return [e["action"] for e in received if e["session_id"] == kernel_id]

    await events_until(session_events, lambda r: "ended" in actions(r))
    # `ended` (why it went) follows the session's last change.
    assert actions(session_events)[0] == "added" and actions(session_events)[-2:] == [
        "removed",
        "ended",
    ]


async def test_removed_kernels_leave_nothing_behind(api, registry):
    me = psutil.Process(os.getpid())

    async def cycle() -> list:
        tracked = []
        kernel_ids = [await api.start_kernel() for _ in range(3)]
        for kernel_id in kernel_ids:
            await api.wait_session(kernel_id, ready)
            tracked.append(registry.tracker.channels[kernel_id])
        for kernel_id in kernel_ids:
            code, _ = await api.call("DELETE", "api", "active-sessions", kernel_id)
            assert code == 204
        return tracked

    await cycle()
    baseline = me.num_fds()
    for _ in range(3):
        tracked = await cycle()
    assert registry.all() == []
    for t in tracked:
        assert t.iopub is None
        assert t.kernel_info_task is None
    assert me.num_fds() <= baseline + 5


async def test_notebook_renamed_is_an_event_and_shows(api, jp_create_notebook, session_events):
    jp_create_notebook("draft.ipynb")
    model = await api.start_session("draft.ipynb", "notebook", name="draft.ipynb")
    kernel_id = model["kernel"]["id"]
    await api.wait_session(kernel_id, lambda s: ready(s) and s["notebook_path"] == "draft.ipynb")

    def bound_changes(received: list[dict]) -> list[dict]:
        return [e for e in received if "sessions" in e["changes"] and e["session_id"] == kernel_id]

    # Opening the notebook was a "sessions" change too: the rename is the next.
    await events_until(session_events, lambda r: len(bound_changes(r)) == 1)
    code, _ = await api.call(
        "PATCH", "api", "sessions", model["id"], body={"path": "final.ipynb", "name": "final.ipynb"}
    )
    assert code == 200
    s = await api.wait_session(kernel_id, lambda s: s["notebook_path"] == "final.ipynb")
    assert s["notebook_uri"].endswith("/final.ipynb")
    await events_until(session_events, lambda r: len(bound_changes(r)) == 2)


async def test_encoded_sessions_follow_every_change(
    api, open_client, jp_serverapp, registry, tmp_path
):
    """The list route serves each session's JSON as encoded at its last visible
    change (encoder.SessionEncoder): after every kind of change it must equal
    the model computed afresh."""
    from jupyter_session_ext.api import serialize

    root = jp_serverapp.root_dir

    encoder = SessionEncoder(registry, root)

    async def check() -> None:
        await registry.refresh_bound()
        for t in registry.all():
            encoded = json.loads(encoder.session(t))
            fresh = json.loads(json.dumps(serialize.active_session(registry, t, root)))
            for timer in ("idle_seconds", "busy_seconds"):  # may tick in between
                encoded.pop(timer), fresh.pop(timer)
            assert encoded == fresh

    (tmp_path / "a.ipynb").write_text("")
    session = await api.start_session("a.ipynb", "notebook")
    kernel = session["kernel"]["id"]
    await api.wait_session(kernel, ready)
    await check()
    client = await open_client(kernel)  # connected
    await api.wait_session(kernel, lambda s: s["connections"] == 1)
    await check()
    msg_id = client.send_execute(
        f"import os, time; os.chdir({str(tmp_path)!r}); time.sleep(1)", cell_id="c1"
    )
    client.send_execute("x = 1", cell_id="c2")
    await api.wait_session(kernel, lambda s: s["status"] == "busy")
    await check()  # busy, one queued
    await client.finished(msg_id)
    await api.wait_session(
        kernel, lambda s: s["status"] == "idle" and s["execution_queue"]["length"] == 0
    )
    await check()  # idle, new cwd, execution_count
    code, _ = await api.call(
        "PATCH", "api", "sessions", session["id"], body={"path": "b.ipynb", "name": "renamed"}
    )
    assert code == 200
    await check()  # Jupyter session renamed
    code, _ = await api.call(
        "PATCH",
        "api",
        "active-sessions",
        kernel,
        body={"display_name": "Mine", "input_prompt": "$ "},
    )
    assert code == 200
    await check()
    await poll(lambda: api.session(kernel), lambda s: s["resource_usage"] is not None)
    await check()
    code, _ = await api.call("POST", "api", "active-sessions", kernel, "restart")
    assert code == 200
    await api.wait_session(kernel, lambda s: s["restart_count"] == 1 and s["status"] == "ready")
    await check()
