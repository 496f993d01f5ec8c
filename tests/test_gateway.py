"""Remote kernels: the server in gateway mode (GatewayClient.url) in front of
a real `jupyter kernelgateway` on loopback. The extension sees the kernels
only through the websocket traffic the server proxies."""

from __future__ import annotations

import sys

import pytest
from test_socket_options import connections, nodelay

from conftest import poll
from fields import check_active_session
from server_process import DIR_VARIABLES, free_port, start_and_wait, stop


def answering(s):
    """A remote kernel's model may say idle at once: either means it is up."""
    return s["status"] in ("ready", "idle")


@pytest.fixture(scope="module")
def kernel_gateway(tmp_path_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_and_wait(
        [
            sys.executable,
            "-m",
            "kernel_gateway",
            "--KernelGatewayApp.ip=127.0.0.1",
            f"--KernelGatewayApp.port={port}",
            "--JupyterWebsocketPersonality.list_kernels=True",
        ],
        url + "/api",
        tmp_path_factory.mktemp("gateway") / "gateway.log",
        # The gateway gives a kernel only PATH and what this list names: the
        # folders of the test, or the kernel writes the user's IPython history.
        env={"KG_ENV_PROCESS_WHITELIST": ",".join(DIR_VARIABLES)},
    )
    yield url
    stop(proc)
    # jupyter_server keeps the gateway settings in a process-wide singleton:
    # later tests must get a server without a gateway.
    from jupyter_server.gateway.gateway_client import GatewayClient

    GatewayClient.clear_instance()


@pytest.fixture
def jp_server_config(jp_server_config, kernel_gateway):
    from jupyter_server.gateway.gateway_client import GatewayClient

    # A singleton made by an earlier test's server would ignore this config.
    GatewayClient.clear_instance()
    yield {**jp_server_config, "GatewayClient": {"url": kernel_gateway}}
    GatewayClient.clear_instance()


async def test_remote_kernel_is_tracked_from_proxied_traffic(
    api, open_client, jp_serverapp, registry, jp_create_notebook
):
    assert jp_serverapp.gateway_config.gateway_enabled
    jp_create_notebook("remote.ipynb")
    model = await api.start_session("remote.ipynb", "notebook", name="remote.ipynb")
    kernel_id = model["kernel"]["id"]
    s = await api.wait_session(kernel_id, lambda s: s["status"] != "uninitialized")
    check_active_session(s)
    # What only exists for a local process is null, or empty: never invented.
    assert s["process_id"] is None and s["argv"] == [] and s["socket_path"] is None
    assert s["initial_env"] is None and s["resource_usage"] is None
    assert s["session_mode"] == "notebook" and s["notebook_path"] == "remote.ipynb"

    client = await open_client(kernel_id)
    s = await api.wait_session(kernel_id, lambda s: s["connected"] and answering(s))
    assert s["connections"] == 1
    # The server's own websocket to the gateway is TCP_NODELAY too.
    (conn,) = await poll(
        lambda: connections(kernel_id), lambda c: len(c) == 1 and c[0].ws is not None
    )
    assert nodelay(conn.ws.protocol.stream.socket)
    assert nodelay(conn.websocket_handler.ws_connection.stream.socket)
    # As JupyterLab does on connecting: the reply, relayed, is the kernel_info.
    client.send("shell", "kernel_info_request", {})
    s = await api.wait_session(kernel_id, lambda s: s["kernel_info"] != {})
    assert s["kernel_info"]["language_info"]["name"] == "python"

    ids = [
        client.send_execute("import time; time.sleep(2)", cell_id="remote-a"),
        client.send_execute("x = 1", cell_id="remote-b"),
        client.send_execute("x += 1", cell_id="remote-c"),
    ]
    s = await api.wait_session(
        kernel_id,
        lambda s: (
            s["status"] == "busy"
            and (s["execution_queue"]["active"] or {}).get("cell_id") == "remote-a"
            and s["execution_queue"]["length"] == 2
        ),
    )
    assert [p["cell_id"] for p in s["execution_queue"]["pending"]] == ["remote-b", "remote-c"]
    s = await api.wait_session(kernel_id, lambda s: s["busy_seconds"] >= 1)
    await client.finished(ids[-1])
    s = await api.wait_session(
        kernel_id, lambda s: s["status"] == "idle" and s["execution_queue"]["length"] == 0
    )
    assert s["execution_queue"]["active"] is None
    assert s["execution_count"] == 3

    # A second client's copy of the same IOPub stream is not counted twice.
    second = await open_client(kernel_id)
    await api.wait_session(kernel_id, lambda s: s["connections"] == 2)
    await second.execute("y = 2")
    s = await api.wait_session(
        kernel_id, lambda s: s["execution_count"] == 4 and s["status"] == "idle"
    )
    assert registry.get(kernel_id).state.executions == 4  # not 5: y = 2 counted once

    code, _ = await api.call("DELETE", "api", "active-sessions", kernel_id)
    assert code == 204
    assert (await api.get("api", "active-sessions"))["total"] == 0
    # No process here to have heard: its last words are null, and say why.
    words = (await api.ended_record(kernel_id))["last_words"]
    assert words["text"] is None and words["why_null"] == "remote" and words["fault"] is None
