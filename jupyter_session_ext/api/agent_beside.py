"""The read tools for jupyter-server-mcp, for who already runs it: its
entry-point group `jupyter_server_mcp.tools` names `tools` below, which
lists the functions here; it registers each under its name, with its
docstring as the description and its signature as the arguments.

jupyter-server-mcp serves them on a port of its own with no login: whoever
reaches that port calls them. So they answer as to a reader (no code, argv
or environment) unless the operator says otherwise
(`AgentTools.show_code_without_login`), and the tool that changes a kernel
(`interrupt_kernel`) is not among them. They run in the Jupyter server's
process and event loop, on the registry of the extension loaded there.
"""

from __future__ import annotations

import importlib
from typing import Any

from .agent_schemas import LIMIT_DEFAULT, READ_TOOLS, TOOLS, WAIT_DEFAULT, ToolError, arguments
from .agent_tools import AgentTools, Caller

# The tools of the extension loaded in this process (one server, one registry).
_serving: list[AgentTools] = []


def attach(tools: AgentTools) -> None:
    _serving[:] = [tools]


def detach(tools: AgentTools) -> None:
    if tools in _serving:
        _serving.remove(tools)


def tools() -> list[str]:
    """What the entry point gives jupyter-server-mcp: `module:function` specs."""
    return [f"{__name__}:{name}" for name in READ_TOOLS]


def _error(message: str) -> Exception:
    """An error jupyter-server-mcp's FastMCP answers with its message."""
    try:
        shown: type[Exception] = importlib.import_module("fastmcp.exceptions").ToolError
    except ImportError:  # (called elsewhere than in jupyter-server-mcp)
        return ValueError(message)
    return shown(message)


async def _call(name: str, given: dict[str, Any]) -> dict[str, Any]:
    if not _serving:
        raise _error(
            "jupyter_session_ext is not enabled on this Jupyter server "
            "(jupyter server extension enable jupyter_session_ext)."
        )
    served = _serving[0]
    caller = Caller(reveal=served.show_code_without_login)  # never may_interrupt
    try:
        shaped = arguments(TOOLS[name], given, served.max_wait_seconds)
        return await served.call(name, caller, shaped)
    except ToolError as err:
        raise _error(err.message) from None


async def list_kernels() -> dict[str, Any]:
    return await _call("list_kernels", {})


async def kernel_status(kernel: str) -> dict[str, Any]:
    return await _call("kernel_status", {"kernel": kernel})


async def wait_for_idle(kernel: str, timeout_seconds: float = WAIT_DEFAULT) -> dict[str, Any]:
    return await _call("wait_for_idle", {"kernel": kernel, "timeout_seconds": timeout_seconds})


async def kernel_history(kernel: str, limit: int = LIMIT_DEFAULT) -> dict[str, Any]:
    return await _call("kernel_history", {"kernel": kernel, "limit": limit})


async def ended_kernels(limit: int = LIMIT_DEFAULT) -> dict[str, Any]:
    return await _call("ended_kernels", {"limit": limit})


async def memory_headroom() -> dict[str, Any]:
    return await _call("memory_headroom", {})


# Each tool's description, as the MCP endpoint lists it.
for _name in READ_TOOLS:
    globals()[_name].__doc__ = TOOLS[_name].description
