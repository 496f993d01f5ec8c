"""Hostile bodies on `api/active-sessions/mcp`, on a real server whose
kernel runs a cell meanwhile: what is not one JSON-RPC message of a sane
size and depth is refused before the SDK reads it; tools and arguments that
are not ours are JSON-RPC errors that say why (never quoting more than a
little of what was sent); nothing changes, and no wait is left behind."""

from __future__ import annotations

import json
import sys

import pytest
from mcp_client import call, rpc

from conftest import ready

KERNEL = "{kernel}"  # stands for the running kernel's id in a case


def body(text: str, kernel: str) -> bytes:
    return text.replace(KERNEL, kernel).encode()


REFUSED = [
    # (body, HTTP status, JSON-RPC code)
    (b"\x00\xff" * 100, 400, -32700),  # not UTF-8
    (b'{"jsonrpc": "2.0", ', 400, -32700),  # not JSON
    (b"{" * 100_000, 413, -32700),  # huge
    (json.dumps({"jsonrpc": "2.0", "method": "x" * 70_000}).encode(), 413, -32700),
    (b"[" * 1000 + b"]" * 1000, 400, -32700),  # deep
    (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": '
        + b'{"a": ' * 20
        + b"1"
        + b"}" * 21,
        400,
        -32700,
    ),
    (b"null", 400, -32600),
    (b"[]", 400, -32600),  # a batch: not in MCP's Streamable HTTP
    (b'[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]', 400, -32600),
    (b'{"hello": "world"}', 400, -32600),
    (b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}', 400, -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": 5}', 400, -32600),
    (b'{"jsonrpc": "2.0", "id": true, "method": "tools/list"}', 400, -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}', 400, -32600),
]

# Well-formed requests whose tool or arguments are not ours: a JSON-RPC error.
WRONG_CALLS = [
    (call("rm_rf", {}), -32602, "Unknown tool"),
    (call("wait_for_idle", {"kernel": KERNEL, "timeout_seconds": 10**9}), -32602, "timeout"),
    (call("wait_for_idle", {"kernel": KERNEL, "timeout_seconds": -1}), -32602, "timeout"),
    (call("wait_for_idle", {"kernel": KERNEL, "timeout_seconds": "10"}), -32602, "timeout"),
    (call("wait_for_idle", {"kernel": KERNEL, "timeout_seconds": True}), -32602, "timeout"),
    (call("wait_for_idle", {"kernel": KERNEL, "timeout_seconds": None}), -32602, "timeout"),
    (call("wait_for_idle", {"timeout_seconds": 1}), -32602, "required"),
    (call("kernel_status", {"kernel": 5}), -32602, "kernel"),
    (call("kernel_status", {"kernel": ""}), -32602, "kernel"),
    (call("kernel_status", {"kernel": "k" * 5000}), -32602, "kernel"),
    (call("kernel_status", {"kernel": ["a"]}), -32602, "kernel"),
    (call("kernel_status", {"kernel": "no-such-kernel"}), -32602, "list_kernels"),
    (call("interrupt_kernel", {"kernel": {"id": KERNEL}}), -32602, "kernel"),
    (call("interrupt_kernel", {"kernel": KERNEL, "force": True}), -32602, "unknown argument"),
    (call("kernel_history", {"kernel": KERNEL, "limit": "x"}), -32602, "limit"),
    (call("kernel_history", {"kernel": KERNEL, "limit": 0}), -32602, "limit"),
    (call("kernel_history", {"kernel": KERNEL, "limit": 2.5}), -32602, "limit"),
    (call("ended_kernels", {"limit": 10**30}), -32602, "limit"),
    (call("list_kernels", {"x": 1}), -32602, "unknown argument"),
    (call("list_kernels", [1, 2]), -32602, ""),  # the SDK's own check: arguments is an object
    ({"jsonrpc": "2.0", "id": 1, "method": "rm/rf"}, -32601, ""),
]
# What no JSON encoder writes, but a client may send: NaN and Infinity.
NOT_JSON_NUMBERS = [
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "wait_for_idle", '
    '"arguments": {"kernel": "%s", "timeout_seconds": %s}}}' % (KERNEL, number)
    for number in ("NaN", "Infinity", "-Infinity", "1e999")
]


async def test_hostile_bodies_are_refused_and_change_nothing(
    api, open_client, jp_fetch, jp_serverapp, registry
):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    client.send_execute("import time\ntime.sleep(30)", cell_id="long")
    before = await api.wait_session(kernel_id, lambda s: s["status"] == "busy")
    listeners = registry.changes.listener_count
    tools = jp_serverapp.extension_manager.extension_points["jupyter_session_ext"].app.agent_tools

    for raw, status, code in REFUSED:
        answered, message = await rpc(jp_fetch, raw)
        assert (answered, message["error"]["code"]) == (status, code), raw[:60]
        assert message["id"] is None and len(message["error"]["message"]) < 400
    for request, code, said in WRONG_CALLS:
        answered, message = await rpc(jp_fetch, body(json.dumps(request), kernel_id))
        assert answered == 200 and "result" not in message, request
        error = message["error"]
        assert error["code"] == code and said in error["message"], (request, error)
        assert message["id"] == 1 and len(error["message"]) < 400, error
    for text in NOT_JSON_NUMBERS:
        answered, message = await rpc(jp_fetch, body(text, kernel_id))
        assert answered == 200 and message["error"]["code"] == -32602, text
        assert "timeout_seconds" in message["error"]["message"]

    after = await api.session(kernel_id)
    for field in ("status", "process_id", "restart_count", "execution_count"):
        assert after[field] == before[field], field
    active = after["execution_queue"]["active"]
    assert active["msg_id"] == before["execution_queue"]["active"]["msg_id"]
    assert registry.changes.listener_count == listeners and tools.waiting == 0


async def test_other_methods_and_media_types(jp_fetch):
    for method, expected in (("GET", 405), ("DELETE", 405), ("PUT", 405)):
        response = await jp_fetch(
            "api",
            "active-sessions",
            "mcp",
            method=method,
            raise_error=False,
            **({"body": b"{}"} if method == "PUT" else {}),
        )
        assert response.code == expected, method
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    # A client that accepts neither JSON nor events, or sends no JSON.
    code, message = await rpc(jp_fetch, listing, {"Accept": "text/html"})
    assert code == 406 and message["error"]["message"].startswith("Not Acceptable")
    code, message = await rpc(jp_fetch, listing, {"Content-Type": "text/plain"})
    assert code == 415 and message["error"]["message"].startswith("Unsupported Media Type")


async def test_without_the_sdk_the_route_says_how_to_get_it(jp_fetch, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp.server.lowlevel", None)  # as if not installed
    code, message = await rpc(jp_fetch, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert code == 501
    assert "pip install 'jupyter_session_ext[mcp]'" in message["error"]["message"]


@pytest.mark.parametrize("path", ["mcp", "mcp/"])
async def test_the_route_is_not_a_session_id(api, path):
    code, _ = await api.call("GET", "api", "active-sessions", *path.split("/"))
    assert code == 405


async def test_a_wait_is_answered_as_events_the_rest_as_json(api, jp_fetch):
    """Events keep a long wait's connection alive through proxies; one JSON
    document costs the server less for everything else."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    for request, media_type in (
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, "application/json"),
        (call("list_kernels", {}), "application/json"),
        (call("wait_for_idle", {"kernel": kernel_id, "timeout_seconds": 0}), "text/event-stream"),
    ):
        response = await jp_fetch(
            "api",
            "active-sessions",
            "mcp",
            method="POST",
            body=json.dumps(request).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
        )
        assert response.headers["Content-Type"].startswith(media_type), request
