"""Lifecycle and history against a real server and real kernels:
per-kernel idle timeouts the real culling obeys, last_exit after a crash,
ended kernels and why, kill, execution history and expected durations.

This module's server checks for culling every second but does not cull by
itself (server culling off); test_culling.py runs one that does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import psutil
import pytest

from jupyter_session_ext.api.events import SCHEMA_ID

from conftest import events_until, poll, started


@pytest.fixture
def jp_server_config(jp_server_config):
    return {**jp_server_config, "MappingKernelManager": {"cull_interval": 1}}


async def kernel_ids(api):
    return {k["id"] for k in await api.get("api", "kernels")}


# -- culling --------------------------------------------------------------------------


async def test_nothing_culls_a_kernel_when_the_server_does_not(api):
    kernel = await started(api)
    assert (await api.session(kernel))["culling"] is None


async def test_own_idle_timeout_culls_with_server_culling_off(api, session_events):
    kernel = await started(api)
    code, s = await api.call("PATCH", "api", "active-sessions", kernel, body={"idle_timeout": 2})
    assert code == 200
    culling = s["culling"]
    assert s["idle_timeout"] == 2
    assert culling["idle_timeout"] == 2 and culling["source"] == "session"
    assert culling["eligible"] is True and 0 <= culling["seconds_left"] <= 2
    record = await api.ended_record(kernel, timeout=30)
    assert record["reason"] == "culled" and record["forced"] is False
    assert record["idle_seconds"] >= 2
    assert kernel not in await kernel_ids(api)
    events = await events_until(
        session_events,
        lambda ev: any(e["action"] == "ended" and e["session_id"] == kernel for e in ev),
    )
    assert next(e for e in events if e["action"] == "ended")["reason"] == "culled"


async def test_a_connected_kernel_is_not_eligible(api, open_client):
    kernel, _client = await started(api, open_client)
    await api.wait_session(kernel, lambda s: s["connections"] == 1)
    code, s = await api.call("PATCH", "api", "active-sessions", kernel, body={"idle_timeout": 1})
    culling = s["culling"]
    assert culling["eligible"] is False
    assert culling["cull_after"] is None and culling["seconds_left"] is None
    # Past its timeout and a few culling rounds later, it is still there.
    await poll(lambda: api.session(kernel), lambda s: s["idle_seconds"] >= 4)
    assert kernel in await kernel_ids(api)


@pytest.mark.parametrize("value", [-1, "10", 1.5, True, [], {"s": 1}, 10**12])
async def test_bad_idle_timeout_is_refused_and_changes_nothing(api, value):
    kernel = await started(api)
    code, body = await api.call(
        "PATCH",
        "api",
        "active-sessions",
        kernel,
        body={"idle_timeout": value, "display_name": "changed?"},
    )
    assert code == 400 and "idle_timeout" in body["message"]
    s = await api.session(kernel)
    assert s["culling"] is None and s["display_name"] != "changed?"


# -- a process that dies and comes back ---------------------------------------------------


async def test_kill_9_shows_in_last_exit_after_the_auto_restart(api):
    kernel = await started(api)
    before = await api.session(kernel)
    assert before["last_exit"] is None
    os.kill(before["process_id"], signal.SIGKILL)
    s = await api.wait_session(
        kernel, lambda s: s["restart_count"] == 1 and s["status"] in ("ready", "idle"), timeout=60
    )
    assert s["process_id"] != before["process_id"]
    assert s["last_exit"]["reason"] == "killed"
    assert s["last_exit"]["signal"] == 9 and s["last_exit"]["exit_code"] is None


async def test_an_exit_code_shows_in_last_exit(api, open_client):
    kernel, client = await started(api, open_client)
    client.send_execute("import os; os._exit(3)")
    # Until the new process answers: the test must not end (and the server
    # shut down) while jupyter_client is still restarting it.
    s = await api.wait_session(
        kernel, lambda s: s["restart_count"] == 1 and s["status"] in ("ready", "idle"), timeout=60
    )
    assert s["last_exit"]["reason"] == "exited"
    assert s["last_exit"]["exit_code"] == 3 and s["last_exit"]["signal"] is None


async def test_a_client_restart_shows_as_restarted(api):
    kernel = await started(api)
    code, s = await api.call("POST", "api", "active-sessions", kernel, "restart")
    assert code == 200
    assert s["last_exit"]["reason"] == "restarted"


# -- kill and ended ----------------------------------------------------------------------

STUCK = (
    "import signal, subprocess, sys\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print(child.pid, flush=True)\n"
    "while True:\n"
    "    pass\n"
)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_kill_ends_a_kernel_that_ignores_signals_and_its_children(
    api, open_client, session_events
):
    kernel, client = await started(api, open_client)
    client.send_execute(STUCK)
    out = await client.wait_for(lambda m: m["header"]["msg_type"] == "stream")
    child_pid = int(out["content"]["text"].split()[0])
    s = await api.wait_session(kernel, lambda s: s["status"] == "busy")
    pid = s["process_id"]
    # Interrupt does nothing to it.
    await api.call("POST", "api", "active-sessions", kernel, "interrupt")
    await asyncio.sleep(0)
    assert (await api.session(kernel))["status"] == "busy"

    code, body = await api.call("POST", "api", "active-sessions", kernel, "kill")
    assert code == 204 and body is None
    assert kernel not in await kernel_ids(api)
    await poll(lambda: asyncio.sleep(0, result=None), lambda _: gone(pid) and gone(child_pid))
    code, _ = await api.call("GET", "api", "active-sessions", kernel)
    assert code == 404
    record = await api.ended_record(kernel, timeout=30)
    assert record["reason"] == "shutdown" and record["forced"] is True
    assert record["by"]  # the token user jp_fetch authenticates as
    assert record["last_execution"] is None  # it never finished one
    events = await events_until(
        session_events,
        lambda ev: any(e["action"] == "ended" and e["session_id"] == kernel for e in ev),
    )
    event = next(e for e in events if e["action"] == "ended")
    assert event["reason"] == "shutdown" and event["forced"] is True


async def test_kill_of_an_unknown_kernel_is_404(api):
    before = await kernel_ids(api)
    code, body = await api.call("POST", "api", "active-sessions", "no-such-kernel", "kill")
    assert code == 404 and "no-such-kernel" in body["message"]
    assert await kernel_ids(api) == before


async def test_a_shutdown_is_ended_with_who_asked_and_what_ran_last(api, open_client):
    kernel, client = await started(api, open_client)
    await client.execute("x = 41 + 1", cell_id="last-cell")
    await api.wait_session(kernel, lambda s: s["status"] == "idle")
    code, _ = await api.call("DELETE", "api", "kernels", kernel)
    assert code == 204
    record = await api.ended_record(kernel, timeout=30)
    assert record["reason"] == "shutdown" and record["forced"] is False and record["by"]
    assert record["last_execution"]["code"] == "x = 41 + 1"
    assert record["last_execution"]["cell_id"] == "last-cell"
    assert record["last_execution"]["status"] == "ok"
    assert record["session_mode"] == "background" and record["kernel_name"] == "python3"


# -- history and expected durations --------------------------------------------------------


async def test_history_matches_what_ran(api, open_client):
    kernel, client = await started(api, open_client)
    t0 = time.monotonic()
    await client.execute("import time; time.sleep(1)", cell_id="sleepy")
    wall = time.monotonic() - t0
    await client.execute("1 / 0", cell_id="boom")
    # A cell queued behind an error is aborted (stop_on_error). The error comes
    # after a sleep, so the second request waits in the kernel's queue by then
    # (sent after the error, it would run: ipykernel aborts only what is queued).
    failing = client.send_execute(
        "import time; time.sleep(2); raise ValueError('no')", cell_id="fails"
    )
    skipped = client.send_execute("y = 2", cell_id="skipped")
    replies = [(await client.finished(m))["reply"]["status"] for m in (skipped, failing)]
    assert replies == ["aborted", "error"]  # what the kernel itself said
    history = await poll(
        lambda: api.get("api", "active-sessions", kernel, "history"), lambda h: h["total"] == 4
    )
    got = [(e["cell_id"], e["status"], e["error_name"]) for e in history["executions"]]
    assert got == [
        ("skipped", "aborted", None),
        ("fails", "error", "ValueError"),
        ("boom", "error", "ZeroDivisionError"),
        ("sleepy", "ok", None),
    ]
    sleepy = history["executions"][3]
    assert 1.0 <= sleepy["duration_seconds"] <= wall
    assert sleepy["code"] == "import time; time.sleep(1)" and sleepy["execution_count"] == 1
    limited = await api.get("api", "active-sessions", kernel, "history", params={"limit": "1"})
    assert limited["total"] == 4 and len(limited["executions"]) == 1


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "100000", ""])
async def test_bad_history_limit_is_400(api, limit):
    kernel = await started(api)
    code, body = await api.call(
        "GET", "api", "active-sessions", kernel, "history", params={"limit": limit}
    )
    assert code == 400 and "limit" in body["message"]


async def test_history_of_an_unknown_kernel_is_404(api):
    code, body = await api.call("GET", "api", "active-sessions", "nope", "history")
    assert code == 404


async def test_a_rerun_cell_expects_its_last_duration(api, open_client):
    kernel, client = await started(api, open_client)
    await client.execute("import time; time.sleep(0.5)", cell_id="again")
    history = await poll(
        lambda: api.get("api", "active-sessions", kernel, "history"), lambda h: h["total"] == 1
    )
    took = history["executions"][0]["duration_seconds"]
    client.send_execute("time.sleep(3)", cell_id="again")
    s = await api.wait_session(kernel, lambda s: s["execution_queue"]["active"] is not None)
    assert s["execution_queue"]["active"]["expected_seconds"] == took
    fresh = client.send_execute("1", cell_id="new-cell")
    s = await api.wait_session(kernel, lambda s: s["execution_queue"]["length"] == 1)
    assert s["execution_queue"]["pending"][0]["expected_seconds"] is None
    await client.finished(fresh)


async def test_long_executions_announce_they_finished(api, open_client, jp_ws_fetch):
    kernel, client = await started(api, open_client)
    events = await jp_ws_fetch("api", "events", "subscribe")
    try:
        await client.execute("pass", cell_id="quick")
        await client.execute("import time; time.sleep(1.2)", cell_id="long")
        await client.execute("pass", cell_id="after")  # so the quick one had its chance too

        async def finished_events() -> list[dict]:
            seen = []
            while True:
                event = json.loads(await events.read_message())
                if event.get("schema_id") != SCHEMA_ID or event["session_id"] != kernel:
                    continue
                if event["action"] == "execution_finished":
                    seen.append(event)
                # The coalesced session event for the last cell's idle.
                if event["status"] == "idle" and event["execution_count"] == 3:
                    return seen

        finished = await asyncio.wait_for(finished_events(), 30)
    finally:
        events.close()
    # Only the long one: the quick ones ran under finished_event_min_seconds.
    assert [e["cell_id"] for e in finished] == ["long"]
    assert finished[0]["status"] == "ok" and finished[0]["error_name"] is None
    assert finished[0]["duration_seconds"] >= 1.2 and finished[0]["execution_count"] == 2
