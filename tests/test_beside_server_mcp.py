"""Beside jupyter-server-mcp 0.4.1, in a venv of its own (tests/peer_venv.py):
it serves MCP on a port of its own, with no login, and registers the tools
its entry-point group `jupyter_server_mcp.tools` names. Ours are there, the
read tools only, answering as to a reader (no code) unless the operator
opts in (`AgentTools.show_code_without_login`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from mcp_client import MCPError, agent
from store_servers import connect

from peer_venv import SERVER_MCP, peer_python
from server_process import JupyterServer, free_port

if sys.version_info < (3, 11):
    pytest.skip("its pins (FastMCP 4.2) are Python 3.11's and later", allow_module_level=True)

READ_TOOLS = {
    "list_kernels",
    "kernel_status",
    "wait_for_idle",
    "kernel_history",
    "ended_kernels",
    "memory_headroom",
}
GROUP = "jupyter_server_mcp.tools"


def declared(python: str) -> list[str]:
    """The installed packages naming tools in the group (ours is declared in
    pyproject.toml, so an install made before the declaration fails here:
    `make install-test` installs again)."""
    return json.loads(
        subprocess.run(
            [
                python,
                "-c",
                "import importlib.metadata as m, json; print(json.dumps(sorted("
                f"e.value for e in m.entry_points(group={GROUP!r}))))",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )


def server(*extra: str) -> JupyterServer:
    python = peer_python("server-mcp", SERVER_MCP)
    assert "jupyter_session_ext.api.agent_beside:tools" in declared(python)
    port = free_port()
    srv = JupyterServer(
        python=python,
        extra_args=[f"--MCPExtensionApp.mcp_port={port}", "--MCPServer.host=127.0.0.1", *extra],
    )
    srv.mcp_url = f"http://127.0.0.1:{port}/mcp"
    return srv


@pytest.fixture(scope="module")
def beside() -> Iterator[JupyterServer]:
    srv = server()
    try:
        yield srv
    finally:
        srv.stop()


def until_ready(srv: JupyterServer, kernel: str) -> None:
    deadline = time.monotonic() + 60
    while srv.get(f"api/active-sessions/{kernel}")["status"] != "ready":
        assert time.monotonic() < deadline, "the kernel never became ready"
        time.sleep(0.1)


async def while_busy(srv: JupyterServer, kernel: str, code: str, then: Any) -> Any:
    """`then()` while `kernel` runs `code`, sent as a browser would."""
    client = await connect(srv, kernel)
    try:
        client.send_execute(code, cell_id="beside-cell")
        deadline = time.monotonic() + 60
        while srv.get(f"api/active-sessions/{kernel}")["execution_queue"]["active"] is None:
            assert time.monotonic() < deadline, "the cell never started"
            await asyncio.sleep(0.1)
        return await then()
    finally:
        client.close()


async def agent_calls(srv: JupyterServer, kernel: str) -> dict[str, Any]:
    # Its port asks for no login: no header at all.
    async with agent(srv.mcp_url, {}) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        listing = await session.call_tool("list_kernels", {})
        waited = await session.call_tool(
            "wait_for_idle", {"kernel": kernel, "timeout_seconds": 0.5}
        )
        try:
            # FastMCP answers an unknown tool as a tool's error.
            refused = (await session.call_tool("interrupt_kernel", {"kernel": kernel})).is_error
        except MCPError:
            refused = True
    return {"tools": tools, "listing": listing, "waited": waited, "interrupt refused": refused}


def test_our_read_tools_answer_on_its_port_as_to_a_reader(beside):
    kernel = beside.start_kernel()
    until_ready(beside, kernel)
    code = "import time\ntime.sleep(20)  # secret-marker"
    seen = asyncio.run(while_busy(beside, kernel, code, lambda: agent_calls(beside, kernel)))
    assert READ_TOOLS <= seen["tools"] and "interrupt_kernel" not in seen["tools"]
    listing = seen["listing"]
    assert not listing.is_error, listing.content
    mine = next(k for k in listing.structured_content["kernels"] if k["kernel"] == kernel)
    assert mine["status"] == "busy" and mine["running"]["cell_id"] == "beside-cell"
    assert mine["running"]["first_line"] is None  # no login: no code
    waited = seen["waited"].structured_content
    assert waited["outcome"] == "timeout" and waited["running"]["cell_id"] == "beside-cell"
    for answer in (listing, seen["waited"]):
        shown = json.dumps(answer.structured_content) + answer.content[0].text
        assert "secret-marker" not in shown and "time.sleep" not in shown
    assert seen["interrupt refused"]  # not among its tools
    # The kernel ran on, uninterrupted.
    assert beside.get(f"api/active-sessions/{kernel}")["status"] == "busy"


def test_the_operator_may_show_code_there():
    srv = server("--AgentTools.show_code_without_login=True")
    try:
        kernel = srv.start_kernel()
        until_ready(srv, kernel)
        code = "import time\ntime.sleep(20)  # shown"
        seen = asyncio.run(while_busy(srv, kernel, code, lambda: agent_calls(srv, kernel)))
        mine = next(
            k for k in seen["listing"].structured_content["kernels"] if k["kernel"] == kernel
        )
        assert mine["running"]["first_line"] == "time.sleep(20)  # shown"
        assert seen["interrupt refused"]
        assert "interrupt_kernel" not in seen["tools"]
    finally:
        srv.stop()
