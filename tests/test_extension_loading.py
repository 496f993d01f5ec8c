"""A good citizen of jupyter_server: loaded twice into one ServerApp, or
failing to load, the extension never breaks the server, and stop is clean.
Real server, real kernels, real websockets."""

from __future__ import annotations

import logging

import pytest
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from jupyter_session_ext.app import ActiveSessionsApp
from jupyter_session_ext.traffic.iopub import ActivityTap
from jupyter_session_ext.traffic.websocket import ObservedConnectionMixin

from conftest import ready


def observation_layers(cls: type) -> int:
    """How many of our observing subclasses the connection class stacks."""
    return sum(1 for c in cls.__mro__ if "observed_base" in c.__dict__)


def extension_app(serverapp) -> ActiveSessionsApp:
    return serverapp.extension_manager.extension_points["jupyter_session_ext"].app


async def queue_is_tracked_once(api, open_client, registry) -> None:
    """Three cells at once: the first runs, two wait; each request was seen
    on its way in exactly once (a doubled observer resubmits each one, which
    shows in the submission order numbers)."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    ids = [
        client.send_execute("import time; time.sleep(2)"),
        client.send_execute("x = 1"),
        client.send_execute("y = 2"),
    ]
    s = await api.wait_session(
        kernel_id, lambda s: s["status"] == "busy" and s["execution_queue"]["length"] == 2
    )
    assert [p["msg_id"] for p in s["execution_queue"]["pending"]] == ids[1:]
    queue = registry.get(kernel_id).state.queue
    assert queue.active.seq == 1 and [e.seq for e in queue.pending] == [2, 3]
    await client.finished(ids[-1])
    # Until the last cell's count: an earlier cell's idle is not the end.
    s = await api.wait_session(
        kernel_id, lambda s: s["status"] == "idle" and s["execution_count"] == 3
    )
    assert s["execution_queue"]["length"] == 0 and s["execution_queue"]["active"] is None


async def test_loaded_twice_observes_once_and_stops_clean(api, open_client, jp_serverapp):
    first = extension_app(jp_serverapp)
    registry = first.registry
    # The same extension app initialized again, as ExtensionApp does when a
    # server loads its extensions a second time.
    again = ActiveSessionsApp._load_jupyter_server_extension(jp_serverapp)
    assert again is first and again.registry is registry  # same kernels, same registry
    cls = jp_serverapp.web_app.settings["kernel_websocket_connection_class"]
    assert cls is jp_serverapp.kernel_websocket_connection_class
    assert issubclass(cls, ObservedConnectionMixin) and observation_layers(cls) == 1
    assert cls.router is registry.tracker.router
    # Our routes are listed once, bound to the registry in use.
    ours = [h for h in first.handlers if h[2].get("registry") is not None]
    assert len(ours) == len({h[0] for h in ours})
    await queue_is_tracked_once(api, open_client, registry)

    km = jp_serverapp.kernel_manager
    streams = [km.get_kernel(k)._activity_stream for k in km.list_kernel_ids()]
    assert streams and all(isinstance(s._recv_callback, ActivityTap) for s in streams)
    await jp_serverapp.extension_manager.stop_all_extensions()
    assert first.registry is None and registry.tracker.kernels == {}
    assert jp_serverapp.kernel_websocket_connection_class is ZMQChannelsWebsocketConnection
    # The server's activity watchers are its own again, for running kernels
    # and for those it starts watching later.
    assert not any(isinstance(s._recv_callback, ActivityTap) for s in streams)
    assert "start_watching_activity" not in km.__dict__
    await jp_serverapp.extension_manager.stop_all_extensions()  # twice is fine


async def test_server_initialized_again_gets_one_fresh_registry(
    api, open_client, jp_serverapp, jp_configurable_serverapp, jp_server_config
):
    old = extension_app(jp_serverapp).registry
    old_km, old_web_app = jp_serverapp.kernel_manager, jp_serverapp.web_app
    # What jupyter_server's own gateway test does: the same ServerApp
    # initialized again, with a new kernel manager, web app and extension app.
    app = jp_configurable_serverapp(config=jp_server_config)
    assert app is jp_serverapp and app.kernel_manager is not old_km
    new = extension_app(app).registry
    assert new is not None and new is not old and new.kernel_manager is app.kernel_manager
    for web_app, registry in ((app.web_app, new), (old_web_app, old)):
        cls = web_app.settings["kernel_websocket_connection_class"]
        assert observation_layers(cls) == 1 and cls.router is registry.tracker.router
    try:
        # This test's client still talks to the first web app, whose handlers
        # and websockets go on with the registry they were given.
        await queue_is_tracked_once(api, open_client, old)

        await app.extension_manager.stop_all_extensions()
        for registry in (old, new):
            assert registry.tracker._stopped and registry.tracker._ticker is None
            assert registry.tracker.kernels == {}
    finally:
        # The server's clean-up only knows the new kernel manager: the kernel
        # started through the first web app would keep its sockets open.
        await old_km.shutdown_all()


class TestFailedLoad:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        # A real configuration mistake: the registry refuses it at load time.
        return {**jp_server_config, "SessionRegistry": {"poll_interval": -1}}

    async def test_server_works_without_the_extension_and_stops_clean(
        self, api, open_client, jp_serverapp, jp_fetch, caplog
    ):
        # The load at start-up failed already (its log went out before the test
        # harness routes logs to caplog): try once more, as a server would.
        caplog.set_level(logging.WARNING)
        jp_serverapp.extension_manager.load_extension("jupyter_session_ext")
        failures = [r for r in caplog.records if "jupyter_session_ext" in r.getMessage()]
        # Reported once, naming the option; nothing of ours logs on top.
        assert len(failures) == 1, [r.getMessage() for r in failures]
        assert "failed loading" in failures[0].getMessage()
        assert "poll_interval" in failures[0].getMessage()
        assert extension_app(jp_serverapp).registry is None
        assert jp_serverapp.kernel_websocket_connection_class is ZMQChannelsWebsocketConnection
        response = await jp_fetch("api", "active-sessions", raise_error=False)
        assert response.code == 404

        # The server itself serves kernels as usual.
        kernel_id = await api.start_kernel()
        client = await open_client(kernel_id)
        reply = await client.execute("40 + 2")
        assert reply["reply"]["status"] == "ok"

        await jp_serverapp.extension_manager.stop_all_extensions()
