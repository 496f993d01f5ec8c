"""The official MCP SDK's client (from the MCP peer venv, tests/peer_venv.py)
against the server's `api/active-sessions/mcp`, and raw JSON-RPC requests
for what no client would send."""

from __future__ import annotations

import json
import site
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from peer_venv import MCP, peer_site

# After the test venv's own packages: the SDK and what it needs, none of
# which the test venv has (checked when the peer venv is made).
site.addsitedir(peer_site("mcp", MCP))

import mcp  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

__all__ = ["MCPError", "agent", "rpc", "sse_messages", "url"]

TOOLS = {
    "list_kernels",
    "kernel_status",
    "wait_for_idle",
    "kernel_history",
    "ended_kernels",
    "memory_headroom",
    "interrupt_kernel",
}


def url(port: int, base_url: str) -> str:
    return f"http://127.0.0.1:{port}{base_url}api/active-sessions/mcp"


@asynccontextmanager
async def agent(
    endpoint: str, headers: dict[str, str], discover: bool = False
) -> AsyncIterator[mcp.ClientSession]:
    """A client session, handshake done: `initialize` (2025-11-25), or with
    `discover` the 2026-07-28 per-request envelope. The three contexts are
    entered in the caller's task, as anyio's cancel scopes ask."""
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(endpoint, http_client=http) as streams:
            async with mcp.ClientSession(streams[0], streams[1]) as session:
                if discover:
                    await session.discover()
                else:
                    await session.initialize()
                yield session


def sse_messages(text: str) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a server-sent events body."""
    return [
        json.loads(line[len("data:") :])
        for line in text.splitlines()
        if line.startswith("data:") and line[len("data:") :].strip()
    ]


async def rpc(
    fetch: Any, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any] | None]:
    """POST `body` as a client would, without the SDK: (status, the JSON-RPC
    message answered, as JSON or as the one event of a stream)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await fetch(
        "api",
        "active-sessions",
        "mcp",
        method="POST",
        body=raw,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **(headers or {}),
        },
        raise_error=False,
        request_timeout=120,
    )
    text = response.body.decode() if response.body else ""
    if not text:
        return response.code, None
    if response.headers.get("Content-Type", "").startswith("text/event-stream"):
        messages = sse_messages(text)
        assert len(messages) == 1, text
        return response.code, messages[0]
    return response.code, json.loads(text)


def call(name: str, arguments: Any, id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
