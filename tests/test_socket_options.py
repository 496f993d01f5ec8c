"""TCP_NODELAY on the kernel websockets: set by default, exactly as
jupyter_server leaves it when turned off. Read back from the server's side of
a real socket."""

from __future__ import annotations

import gc
import socket

from jupyter_session_ext.traffic.websocket import ObservedConnectionMixin

from conftest import poll, ready


async def connections(kernel_id: str) -> list[ObservedConnectionMixin]:
    """The server's live connection objects of `kernel_id`'s websockets."""
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, ObservedConnectionMixin)
        and getattr(o, "kernel_id", None) == kernel_id
        and getattr(o, "websocket_handler", None) is not None
        and o.websocket_handler.ws_connection is not None
    ]


def nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def test_kernel_websocket_is_nodelay_unless_turned_off(api, open_client, registry):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    assert registry.tcp_nodelay is True  # the default
    await open_client(kernel_id)
    (on,) = await poll(lambda: connections(kernel_id), lambda c: len(c) == 1)
    assert nodelay(on.websocket_handler.ws_connection.stream.socket)

    registry.tcp_nodelay = False  # applies to connections made from now on
    await open_client(kernel_id)
    both = await poll(lambda: connections(kernel_id), lambda c: len(c) == 2)
    (off,) = [c for c in both if c is not on]
    assert not nodelay(off.websocket_handler.ws_connection.stream.socket)


async def _connections(kernel_id: str) -> list[ObservedConnectionMixin]:
    return connections(kernel_id)


async def test_nagle_gathers_a_run_of_queued_cells_and_nodelay_is_back_as_it_ends(
    api, open_client, tmp_path
):
    """While the kernel runs a cell with more queued behind it, each message
    sent at once would be a packet of its own: TCP_NODELAY is off then, and
    on again (sending what Nagle's algorithm held) once the run ends."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    (conn,) = await poll(lambda: connections(kernel_id), lambda c: len(c) == 1)
    sock = conn.websocket_handler.ws_connection.stream.socket
    assert nodelay(sock)

    go, done = tmp_path / "go", tmp_path / "done"
    first = client.send_execute(
        "import os, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "print('a message sent while cells wait behind this one')\n"
        f"while not os.path.exists({str(done)!r}): time.sleep(0.01)\n"
    )
    last = [client.send_execute("pass") for _ in range(3)][-1]
    await api.wait_session(
        kernel_id,
        lambda s: (
            s["execution_queue"]["active"] is not None
            and s["execution_queue"]["active"]["msg_id"] == first
            and s["execution_queue"]["length"] == 3
        ),
    )
    go.touch()
    await client.wait_for(lambda m: m["header"]["msg_type"] == "stream")
    assert not nodelay(sock)

    done.touch()
    await client.finished(last)
    await api.wait_session(kernel_id, lambda s: s["status"] == "idle")
    assert nodelay(sock)
