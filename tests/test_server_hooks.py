"""One test per hook of server_hooks.py, against the installed jupyter_server,
jupyter_client and pyzmq, with a real server and real kernels: each checks
the upstream fact the hook relies on, so an upgrade that changes it fails
here by name, not somewhere downstream."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess

import psutil
import zmq
from jupyter_client.session import Session
from jupyter_server.gateway.connections import GatewayWebSocketConnection
from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
from tornado.websocket import WebSocketClientConnection

from jupyter_session_ext import server_hooks
from jupyter_session_ext.traffic.activity_watcher import KNOWN_SOURCES, fingerprint

from conftest import ready, started


def kernel_manager(jp_serverapp):
    return jp_serverapp.kernel_manager


async def test_start_watching_activity_puts_a_stream_on_the_kernel(api, jp_serverapp):
    km = kernel_manager(jp_serverapp)
    watched: list[str] = []
    hook = server_hooks.after_start_watching_activity(km, watched.append)
    try:
        kernel_id = await started(api)
        kernel = km.get_kernel(kernel_id)
        stream = server_hooks.activity_stream(kernel)
        assert stream is not None and not stream.closed()
        server_hooks.rewatch(km, kernel_id)  # stop and start: a new stream, the hook called
        assert server_hooks.activity_stream(kernel) is not stream and stream.closed()
        assert watched.count(kernel_id) >= 1
    finally:
        hook.uninstall()
    assert "start_watching_activity" not in km.__dict__  # the class's method again


def test_the_culler_calls_cull_kernel_if_idle_with_a_kernel_id():
    method = MappingKernelManager.cull_kernel_if_idle
    assert inspect.iscoroutinefunction(method)
    assert list(inspect.signature(method).parameters) == ["self", "kernel_id"]
    assert "cull_kernel_if_idle" in inspect.getsource(MappingKernelManager.cull_kernels)


async def test_shutdown_kernel_takes_a_kernel_id_first(api, jp_serverapp):
    km = kernel_manager(jp_serverapp)
    assert list(inspect.signature(km.shutdown_kernel).parameters)[0] == "kernel_id"
    seen: list[str] = []
    hook = server_hooks.around_shutdown_kernel(km, seen.append, lambda kernel_id, _: None)
    try:
        kernel_id = await started(api)
        code, _ = await api.call("DELETE", "api", "kernels", kernel_id)
        assert code == 204 and seen == [kernel_id]
    finally:
        hook.uninstall()


async def test_the_server_counts_each_kernels_websockets(api, open_client, jp_serverapp):
    kernel_id, _ = await started(api, open_client)
    km = kernel_manager(jp_serverapp)
    assert server_hooks.connection_count(km, kernel_id) == 1
    assert (await api.get("api", "kernels", kernel_id))["connections"] == 1


async def test_the_sessions_routes_write_through_the_session_managers_methods(api, jp_serverapp):
    writes: list[str] = []
    hooks = server_hooks.after_session_writes(
        jp_serverapp.session_manager, lambda: writes.append("write")
    )
    try:
        assert all(h.installed for h in hooks)
        session = await api.start_session("a.ipynb", "notebook")
        assert writes == ["write"]
        code, _ = await api.call(
            "PATCH", "api", "sessions", session["id"], body={"path": "b.ipynb"}
        )
        assert code == 200 and writes == ["write"] * 2
        code, _ = await api.call("DELETE", "api", "sessions", session["id"])
        assert code == 204 and writes == ["write"] * 3
    finally:
        for hook in hooks:
            hook.uninstall()


async def test_the_server_keeps_each_kernels_manager_by_id(api, jp_serverapp):
    kernel_id = await api.start_kernel()
    km = kernel_manager(jp_serverapp)
    assert isinstance(km._kernels, dict)
    assert server_hooks.kernel_managers(km) == {kernel_id: km.get_kernel(kernel_id)}


async def test_a_restart_asked_for_is_pending_until_the_kernel_answers(api, jp_serverapp):
    kernel_id = await started(api)
    kernel = kernel_manager(jp_serverapp).get_kernel(kernel_id)
    assert not server_hooks.restart_pending(kernel)
    # The restart returns a future that resolves once the new process answers.
    answered = await kernel_manager(jp_serverapp).restart_kernel(kernel_id)
    assert server_hooks.restart_pending(kernel)
    await asyncio.wait_for(answered, 60)
    assert not server_hooks.restart_pending(kernel)


async def test_the_watcher_is_on_the_kernels_iopub_url(api, jp_serverapp):
    kernel_id = await started(api)
    kernel = kernel_manager(jp_serverapp).get_kernel(kernel_id)
    stream = server_hooks.activity_stream(kernel)
    assert stream.socket.get(zmq.LAST_ENDPOINT).decode() == server_hooks.iopub_url(kernel)


async def test_the_local_provisioner_keeps_the_popen_and_the_launch(api, jp_serverapp):
    kernel_id = (await api.start_session("nb.ipynb", "notebook"))["kernel"]["id"]
    await api.wait_session(kernel_id, ready)
    kernel = kernel_manager(jp_serverapp).get_kernel(kernel_id)
    popen = server_hooks.launched_process(kernel)
    assert isinstance(popen, subprocess.Popen) and popen.poll() is None
    assert popen.pid == (await api.session(kernel_id))["process_id"]
    # What the kernel was launched with, kept for its restarts.
    assert "_launch_args" in vars(kernel)["_trait_values"]
    launched = server_hooks.launch_args(kernel)
    assert launched.get("cwd") == jp_serverapp.root_dir
    assert launched["env"]["JPY_SESSION_NAME"].endswith("nb.ipynb")


async def test_each_launch_hands_popen_the_streams_and_env_given(api, jp_serverapp):
    """What KernelLaunchHook relies on: each kernel's manager made by
    pre_start_kernel, its launch (start and restart) through its own
    _async_launch_kernel, whose keyword arguments reach the Popen of the
    local provisioner: a pipe given as stderr is the process's fd 2."""
    from jupyter_client.launcher import launch_kernel

    assert {"stdout", "stderr", "env"} <= set(inspect.signature(launch_kernel).parameters)
    km = kernel_manager(jp_serverapp)
    launched: list[tuple[object, object, int]] = []

    def before(kernel, kw):
        assert isinstance(kw["env"], dict)
        read, write = os.pipe()
        kw["stderr"] = write
        kw["env"] = {**kw["env"], "LAUNCH_HOOK_SAW": "1"}

        def after(popen):
            os.close(write)
            launched.append((kernel, popen, read))

        return after

    hook = server_hooks.KernelLaunchHook(km, before)
    try:
        kernel_id = await started(api)
        kernel = km.get_kernel(kernel_id)
        await asyncio.wait_for(await km.restart_kernel(kernel_id), 60)
        assert len(launched) == 2  # the start, then the restart
        for seen, popen, _ in launched:
            assert seen is kernel and isinstance(popen, subprocess.Popen)
        kernel_popen = launched[-1][1]
        assert kernel_popen is server_hooks.launched_process(kernel)
        assert server_hooks.popen_arguments_reach_the_process(kernel)
        assert os.stat(f"/proc/{kernel_popen.pid}/fd/2").st_ino == os.fstat(launched[-1][2]).st_ino
        assert psutil.Process(kernel_popen.pid).environ()["LAUNCH_HOOK_SAW"] == "1"
    finally:
        hook.uninstall()
        for _, _, read in launched:
            os.close(read)
    # The wrap it was over (the extension's own) is back on the kernel's manager.
    wrap = vars(kernel).get(server_hooks.KernelLaunchHook.LAUNCH)
    assert wrap is not None and wrap.launch_hook is not hook


def test_on_recv_keeps_its_callback():
    context = zmq.Context.instance()
    from zmq.eventloop.zmqstream import ZMQStream

    stream = ZMQStream(context.socket(zmq.SUB))
    try:

        def callback(msg_list):
            return None

        stream.on_recv(callback)
        assert server_hooks.stream_callback(stream) is callback
    finally:
        stream.close()


async def test_record_activity_closes_over_what_we_read(api, jp_serverapp):
    kernel_id = await started(api)
    kernel = kernel_manager(jp_serverapp).get_kernel(kernel_id)
    # Ours is on the stream now; the watcher's own closure is the one it wraps.
    tap = server_hooks.stream_callback(server_hooks.activity_stream(kernel))
    record_activity = getattr(tap, "original", tap)
    assert record_activity.__qualname__ == server_hooks.RECORD_ACTIVITY_QUALNAME
    assert fingerprint(record_activity) in KNOWN_SOURCES
    parts = server_hooks.record_activity_parts(record_activity)
    assert parts.manager is kernel_manager(jp_serverapp) and parts.kernel is kernel
    assert parts.kernel_id == kernel_id and isinstance(parts.session, Session)
    assert callable(parts.utcnow)


def test_a_session_remembers_the_signatures_it_saw():
    session = Session(key=b"k")
    server_hooks.remember_signature(session, b"sig")
    assert b"sig" in session.digest_history


def test_handlers_read_the_connection_class_from_the_settings(jp_serverapp):
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    assert "kernel_websocket_connection_class" in inspect.getsource(KernelWebsocketHandler)
    cls = server_hooks.connection_class(jp_serverapp)
    assert jp_serverapp.web_app.settings["kernel_websocket_connection_class"] is cls


def test_the_gateway_connection_connects_in_connection_done():
    source = inspect.getsource(GatewayWebSocketConnection._connection_done)
    assert "self.ws" in source
    assert "protocol" in inspect.getsource(WebSocketClientConnection)


async def test_the_request_being_served_is_in_the_call_context(
    api, jp_serverapp, ready_kernel=None
):
    km = kernel_manager(jp_serverapp)
    users: list[str | None] = []
    hook = server_hooks.around_shutdown_kernel(
        km,
        lambda kernel_id: users.append(server_hooks.requesting_user()),
        lambda kernel_id, _: None,
    )
    try:
        kernel_id = await api.start_kernel()
        await api.wait_session(kernel_id, ready)
        await api.call("DELETE", "api", "kernels", kernel_id)
    finally:
        hook.uninstall()
    assert users and users[0]  # the test's user, as the server knows them
