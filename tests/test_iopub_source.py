"""Where a kernel's IOPub is read: on jupyter_server's own activity watcher
(no subscription of ours: each message is received once; parsed once too
when the watcher is jupyter_server's own, test_activity_watcher.py), after
another watcher, or, for a kernel manager without a watcher, on a
subscription of our own. Real server, real kernels, real websockets."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from jupyter_session_ext.traffic.iopub import ActivityTap, SharedParseTap, on_current_ports
from jupyter_session_ext.traffic.own_requests import OWN_SESSION
from jupyter_session_ext.untrusted import Message

from conftest import poll, ready, started
from fields import parse_utc


def tap_of(km) -> ActivityTap | None:
    callback = getattr(getattr(km, "_activity_stream", None), "_recv_callback", None)
    return callback if isinstance(callback, ActivityTap) else None


async def seen_running(api, client, kernel_id: str, count: int) -> None:
    """A cell (the kernel's execution `count`) is seen running, then done:
    busy and its start come on IOPub only."""
    msg_id = client.send_execute("import time; time.sleep(1)")
    await api.wait_session(
        kernel_id,
        lambda s: (
            s["status"] == "busy" and (s["execution_queue"]["active"] or {}).get("msg_id") == msg_id
        ),
    )
    await client.finished(msg_id)
    await api.wait_session(
        kernel_id, lambda s: s["status"] == "idle" and s["execution_count"] == count
    )


async def seen_running_from_a_direct_client(api, registry, kernel_id: str) -> None:
    """A cell sent by a client of the kernel's own ports, not through the
    server, is seen running (from IOPub alone), then done: the kernel's first
    execution."""
    kc = registry.tracker.channels[kernel_id].km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=30)
        code = "import time; time.sleep(1.5)  # direct"
        kc.execute(code)
        s = await api.wait_session(
            kernel_id, lambda s: (s["execution_queue"]["active"] or {}).get("code") == code
        )
        assert s["status"] == "busy"
        await api.wait_session(
            kernel_id, lambda s: s["status"] == "idle" and s["execution_count"] == 1
        )
    finally:
        kc.stop_channels()


async def test_iopub_rides_on_the_servers_activity_watcher(
    api, open_client, registry, jp_serverapp
):
    kernel_id, client = await started(api, open_client)
    registry.get(kernel_id)
    channels = registry.tracker.channels[kernel_id]
    tap = tap_of(channels.km)
    assert channels.iopub.shared and tap is not None and tap.observer is channels.iopub
    assert isinstance(tap, SharedParseTap)  # a watcher we know: one parse for both
    await seen_running(api, client, kernel_id, 1)
    # The server's watcher's job is done too.
    assert channels.km.execution_state == "idle"

    # What a restart on new ports does (MappingKernelManager.restart_kernel):
    # the server drops its watcher and starts another; we ride on the new one.
    old_stream = channels.km._activity_stream
    jp_serverapp.kernel_manager.stop_watching_activity(kernel_id)
    jp_serverapp.kernel_manager.start_watching_activity(kernel_id)
    assert channels.km._activity_stream is not old_stream
    assert tap_of(channels.km).observer is channels.iopub and channels.iopub.shared
    # The new watcher's socket connects in the background (ZMQ's slow joiner):
    # we ask the kernel until a message comes through it, as after a start.
    await asyncio.wait_for(channels.iopub.live.wait(), 30)
    await seen_running(api, client, kernel_id, 2)


async def test_a_message_the_watcher_rejects_is_not_read(api, registry):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    tracked = registry.get(kernel_id)
    channels = registry.tracker.channels[kernel_id]
    session = channels.km.session
    # A busy status for an execution, signed with another key.
    forged = session.msg(
        "status",
        {"execution_state": "busy"},
        parent=session.msg("execute_request", {"code": "1"})["header"],
    )
    from jupyter_client.session import Session

    wire = [b"kernel.x.status"] + Session(key=b"not-the-key").serialize(forged)
    with pytest.raises(ValueError):
        tap_of(channels.km)(wire)
    assert tracked.state.status == "ready" and len(tracked.state.queue) == 0
    # The same message signed with the kernel's key is read.
    tap_of(channels.km)([b"kernel.x.status"] + session.serialize(forged))
    assert tracked.state.status == "busy"


def with_kernel_manager(cls: type) -> Any:
    """A `jp_server_config` fixture for a test class: the server runs `cls`."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {
            **jp_server_config,
            "ServerApp": {**jp_server_config["ServerApp"], "kernel_manager_class": cls},
        }

    return jp_server_config


class CountingActivityWatcher(AsyncMappingKernelManager):
    """A kernel manager whose watcher does more than jupyter_server's own."""

    seen = 0
    seen_of_ours = 0  # messages answering the extension's own requests

    def start_watching_activity(self, kernel_id):
        super().start_watching_activity(kernel_id)
        stream = self._kernels[kernel_id]._activity_stream
        theirs = stream._recv_callback

        def record_activity(msg_list):
            type(self).seen += 1
            if any(OWN_SESSION.encode() in part for part in msg_list):
                type(self).seen_of_ours += 1
            theirs(msg_list)

        stream.on_recv(record_activity)


class TestWithAnotherActivityWatcher:
    jp_server_config = with_kernel_manager(CountingActivityWatcher)

    async def test_a_watcher_we_do_not_know_runs_first_unchanged(self, api, open_client, registry):
        kernel_id, client = await started(api, open_client)
        registry.get(kernel_id)
        channels = registry.tracker.channels[kernel_id]
        tap = tap_of(channels.km)
        assert type(tap) is ActivityTap and tap.observer is channels.iopub
        seen = CountingActivityWatcher.seen
        await seen_running(api, client, kernel_id, 1)
        assert CountingActivityWatcher.seen >= seen + 3  # busy, execute_input, idle
        assert channels.km.execution_state == "idle"

    async def test_it_never_sees_what_answers_our_own_requests(self, api, registry):
        seen_of_ours = CountingActivityWatcher.seen_of_ours
        # Ready: the kernel answered our kernel_info, and its idle for it
        # came through the watcher's stream.
        kernel_id = await started(api)
        registry.get(kernel_id)
        channels = registry.tracker.channels[kernel_id]
        assert type(tap_of(channels.km)) is ActivityTap
        assert CountingActivityWatcher.seen_of_ours == seen_of_ours
        # Nobody connected: the server's model says what it says without us.
        assert channels.km.execution_state == "starting"
        assert (await api.get("api", "kernels", kernel_id))["execution_state"] == "starting"


class NoActivityWatcher(AsyncMappingKernelManager):
    """A kernel manager that does not watch IOPub (as some custom ones)."""

    def start_watching_activity(self, kernel_id):
        pass


class TestWithoutActivityWatcher:
    jp_server_config = with_kernel_manager(NoActivityWatcher)

    async def test_iopub_is_read_on_a_subscription_of_our_own(self, api, registry, jp_serverapp):
        assert isinstance(jp_serverapp.kernel_manager, NoActivityWatcher)
        kernel_id = await started(api)
        registry.get(kernel_id)
        channels = registry.tracker.channels[kernel_id]
        assert not channels.iopub.shared and channels.iopub.has_source
        assert getattr(channels.km, "_activity_stream", None) is None
        # Without the watcher, jupyter_server's websocket does not come up
        # (its nudge waits on IOPub): a client of the kernel's own ports.
        await seen_running_from_a_direct_client(api, registry, kernel_id)


async def test_a_kernel_info_request_in_flight_closes_with_the_kernel(api, registry):
    """Stopping following a kernel closes the shell socket of a kernel_info
    request still waiting, at once: left to the cancelled task, the kernel
    manager's shutdown could close it first and leave its file descriptor
    registered in the event loop ("fd added twice" for the next socket)."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    tracked = registry.get(kernel_id)
    channels = registry.tracker.channels[kernel_id]
    pid = tracked.pid
    os.kill(pid, signal.SIGSTOP)  # it will not answer
    try:
        registry.tracker._request_kernel_info(tracked)
        deadline = asyncio.get_running_loop().time() + 30
        while not channels.kernel_info_streams:
            assert asyncio.get_running_loop().time() < deadline, "no request in flight"
            await asyncio.sleep(0.05)
        streams = list(channels.kernel_info_streams)
        channels.close()
        # Closed by us (the socket dropped from the stream), before the
        # event loop runs again.
        assert all(stream.socket is None for stream in streams)
    finally:
        os.kill(pid, signal.SIGCONT)


class TestAutoRestartOnNewPorts:
    """jupyter_client's restarter brings a dead kernel back on new ports when
    ports are not cached (`KernelManager.cache_ports=False`); jupyter_server
    re-watches a kernel's activity only after restarts it was asked for. The
    new process must still be read, by us and by the server's watcher (its
    culler, `api/kernels` and its websockets' nudge depend on it)."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {**jp_server_config, "KernelManager": {"cache_ports": False}}

    async def test_the_new_process_is_watched_after_an_auto_restart_on_new_ports(
        self, api, open_client, registry
    ):
        kernel_id = await started(api)
        tracked = registry.get(kernel_id)
        channels = registry.tracker.channels[kernel_id]
        before = channels.km.iopub_port
        pid = tracked.pid
        os.kill(pid, signal.SIGKILL)
        await api.wait_session(kernel_id, lambda s: ready(s) and s["process_id"] != pid, timeout=60)
        assert channels.km.iopub_port != before  # the restarter took new ports
        assert on_current_ports(channels.km, channels.km._activity_stream)
        assert tap_of(channels.km).observer is channels.iopub and channels.iopub.shared
        quiet = (await api.get("api", "kernels", kernel_id))["last_activity"]
        # A websocket opened now comes up (its nudge waits for the server's
        # watcher to see the kernel) and its cell is seen, by both.
        client = await open_client(kernel_id)
        await seen_running(api, client, kernel_id, 1)
        model = await api.get("api", "kernels", kernel_id)
        assert model["execution_state"] == "idle"
        assert parse_utc(model["last_activity"]) > parse_utc(quiet)


class TestARequestAnsweredWhoseIOPubARestartLost:
    """The soak's "pending entry already answered": after a kill -9 and
    jupyter_client's restart, a request the new process ran at once, before
    the server's IOPub socket was back, is answered, but its busy and idle
    never reach us. Replayed here in that order, the loss made certain by
    dropping that request's IOPub at our observer: the reply alone must end
    it (pending, then in the history), on kept ports and on new ones."""

    @pytest.fixture(params=[True, False], ids=["kept ports", "new ports"])
    def jp_server_config(self, request, jp_server_config):
        return {**jp_server_config, "KernelManager": {"cache_ports": request.param}}

    async def test_the_reply_alone_ends_it(self, api, open_client, registry):
        kernel_id = await started(api)
        pid = registry.get(kernel_id).pid
        os.kill(pid, signal.SIGKILL)
        await api.wait_session(kernel_id, lambda s: ready(s) and s["process_id"] != pid, timeout=60)
        client = await open_client(kernel_id)
        observer = registry.tracker.channels[kernel_id].iopub
        lost: set[str] = set()
        hear = observer._on_message

        def losing(msg: Message) -> None:
            if msg.parent.msg_id not in lost:
                hear(msg)

        observer._on_message = losing
        msg_id = client.send_execute("x = 41 + 1", cell_id="after-restart")
        lost.add(msg_id)  # before the loop runs again: nothing of it was read
        await client.wait_for(
            lambda m: (
                m["header"]["msg_type"] == "execute_reply"
                and m["parent_header"].get("msg_id") == msg_id
            )
        )

        def listed(s: dict) -> bool:
            queue = s["execution_queue"]
            return msg_id in [p["msg_id"] for p in queue["pending"]] + (
                [queue["active"]["msg_id"]] if queue["active"] else []
            )

        await api.wait_session(kernel_id, lambda s: not listed(s), timeout=10)
        history = await api.get("api", "active-sessions", kernel_id, "history")
        [done] = [e for e in history["executions"] if e["msg_id"] == msg_id]
        assert done["status"] == "ok" and done["cell_id"] == "after-restart"
        # Never seen begin: no duration to expect of that cell next time.
        client.send_execute("import time; time.sleep(2)")
        again = client.send_execute("pass", cell_id="after-restart")
        s = await api.wait_session(
            kernel_id,
            lambda s: (
                s["status"] == "busy"
                and any(p["msg_id"] == again for p in s["execution_queue"]["pending"])
            ),
        )
        assert s["execution_queue"]["pending"][0]["expected_seconds"] is None


async def test_a_reply_read_before_its_iopub_ends_a_run_whose_start_was_seen(
    api, open_client, registry
):
    """The kernel publishes busy, its code and idle on IOPub before it
    replies, but the server reads IOPub on a socket of its own: under load
    the reply came first, and the cell was taken as never begun (no start,
    no duration, no memory figures: the CLI's `memory` listed 2 cells of 3).
    Here the server's IOPub socket is left unread (as a busy event loop
    leaves it) until the reply is in: the reply then reads what IOPub holds
    first."""
    kernel_id, client = await started(api, open_client)
    await api.wait_session(kernel_id, lambda s: s["resource_usage"] is not None)
    stream = registry.tracker.channels[kernel_id].iopub._tap.stream
    stream.receiving = lambda: False  # the loop leaves it unread; a flush still reads it
    try:
        result = await client.execute("x = b'x' * 30_000_000", cell_id="allocates")
        assert result["reply"]["status"] == "ok"
    finally:
        del stream.receiving
    history = await poll(
        lambda: api.get("api", "active-sessions", kernel_id, "history"),
        lambda h: h["total"] >= 1,
    )
    [done] = history["executions"]
    assert done["cell_id"] == "allocates" and done["started"] is not None, done
    assert done["memory_start_bytes"] is not None and done["memory_end_bytes"] is not None
    assert done["memory_end_bytes"] - done["memory_start_bytes"] >= 20_000_000, done
