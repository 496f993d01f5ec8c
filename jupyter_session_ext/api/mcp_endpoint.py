"""The MCP endpoint `api/active-sessions/mcp`: the official `mcp` SDK's
server and Streamable HTTP transport, serving the agent tools
(`agent_tools.py`) inside jupyter_server.

The SDK parses and validates the protocol (its messages, the handshake,
the results' types); its transport is an ASGI application, which each
request reaches through `asgi_bridge.Exchange` once the handler has
authenticated and authorized it. Stateless: every request stands alone
(no `Mcp-Session-Id`), so each is authorized as it comes, whoever sent the
one before. A wait for an idle kernel is answered as server-sent events
(it may last minutes, and the stream's keep-alive comments hold proxies
open); everything else as one JSON document, which costs the server less
(two session managers of the SDK, one for each).

`mcp` is optional (`pip install "jupyter_session_ext[mcp]"`): imported
when the first request comes, and without it the route answers 501.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any, NamedTuple

from jupyter_core.utils import ensure_async
from tornado.httputil import HTTPServerRequest
from traitlets.config import Configurable

from .._version import __version__
from ..untrusted import Refused, json_value, loads
from . import agent_text
from .agent_schemas import INVALID_PARAMS, TOOLS, ToolError, arguments
from .agent_tools import AgentTools, Caller
from .asgi_bridge import ASGIApp, Exchange

# What the scope of a bridged request holds: the caller, as the Authorizer said.
CALLER = "jupyter_session_ext.caller"
# A JSON-RPC message of MCP's is a few hundred bytes (an initialize a few
# kB): anything bigger or deeper is no message of ours.
BODY_MAX_BYTES = 64 * 1024
BODY_MAX_DEPTH = 16
BODY_MAX_CONTAINERS = 512
PARSE_ERROR = -32700
INVALID_REQUEST = -32600

INSTRUCTIONS = (
    "This Jupyter server's kernels as its Active Sessions panel shows them: which "
    "kernel runs which notebook, whether it is busy and running what, what is queued, "
    "what finished and how, why kernels ended, and memory against the limit. Before "
    "running code in a notebook, look at list_kernels; after sending code, use "
    "wait_for_idle rather than sleeping."
)


def refusal(code: int, message: str) -> str:
    """A JSON-RPC error that answers no request id (the request had none we
    could read)."""
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})


class Checked(NamedTuple):
    status: int  # HTTP's, for `error`
    error: str  # a JSON-RPC error, or ""
    body: bytes  # what the SDK reads
    events: bool = False  # answered as server-sent events (a wait)


def waits(message: dict[str, Any]) -> bool:
    """Whether `message` calls the tool that may wait long."""
    params = message.get("params") or {}
    return message.get("method") == "tools/call" and params.get("name") == "wait_for_idle"


def shaped_body(body: bytes) -> Checked:
    """The body read within bounds and found to be one JSON-RPC request or
    notification, written again as plain JSON for the SDK (a NaN the client
    wrote is null by then); or the error that refuses it."""
    try:
        message = loads(
            body,
            max_bytes=BODY_MAX_BYTES,
            max_depth=BODY_MAX_DEPTH,
            max_containers=BODY_MAX_CONTAINERS,
        )
    except Refused as err:
        status = 413 if len(body) > BODY_MAX_BYTES else 400
        return Checked(
            status, refusal(PARSE_ERROR, f"Parse error: the body is refused: {err}."), b""
        )
    if not isinstance(message, dict) or not _one_message(message):
        return Checked(
            400,
            refusal(
                INVALID_REQUEST,
                'Invalid Request: send one JSON-RPC 2.0 request, an object with "jsonrpc": '
                '"2.0", a "method" string, an "id" (string or integer) and "params" (an '
                "object), or a notification without the id.",
            ),
            b"",
        )
    try:
        text = json.dumps(message, allow_nan=False)
    except ValueError:  # 1e999 reads as infinity: null, as NaN is
        text = json.dumps(json_value(message, size=2 * BODY_MAX_BYTES))
    return Checked(200, "", text.encode(), waits(message))


def _one_message(message: dict[str, Any]) -> bool:
    """Whether `message` is a JSON-RPC 2.0 request or notification."""
    ident = message.get("id", 0)
    return (
        message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
        and bool(message["method"])
        and isinstance(message.get("params", {}), dict)
        and isinstance(ident, (str, int))
        and not isinstance(ident, bool)
    )


def checked(request: HTTPServerRequest) -> Checked:
    """What to answer at once, or to hand the SDK."""
    content_type = request.headers.get("Content-Type")
    why = missing()
    if why is not None:
        message = (
            f"This server has no MCP SDK ({why}): its operator installs it with "
            "pip install 'jupyter_session_ext[mcp]'. The REST API answers the same."
        )
        return Checked(501, refusal(INVALID_REQUEST, message), b"")
    if not (content_type or "").lower().startswith("application/json"):
        message = "Unsupported Media Type: send the JSON-RPC message as application/json."
        return Checked(415, refusal(INVALID_REQUEST, message), b"")
    return shaped_body(request.body)


async def allowed(handler: Any, *actions: str) -> bool:
    """Whether the server's Authorizer allows the user of `handler` every one
    of `actions` on kernels."""
    for action in actions:
        answer = handler.authorizer.is_authorized(handler, handler.current_user, action, "kernels")
        if not await ensure_async(answer):
            return False
    return True


def missing() -> str | None:
    """Why the SDK cannot be used here, or None when it can."""
    try:
        for module in SDK_MODULES:
            sdk(module)
    except ImportError as err:
        return f"{err}"
    return None


SDK_MODULES = ("mcp_types", "mcp.server.lowlevel", "mcp.server.streamable_http_manager")


def sdk(module: str) -> Any:
    """A module of the SDK, by name: it is optional, so imported when first
    needed (and not type-checked here, whether installed or not)."""
    return importlib.import_module(module)


class McpEndpoint:
    """The SDK's server for the agent tools, and its transport's session
    managers (by whether they answer with events), each running as a task
    of the server's event loop from the first request for it until `stop`."""

    def __init__(self, registry: Any, root_dir: str) -> None:
        # The tools' settings (AgentTools) come from the registry's configuration.
        parent = registry if isinstance(registry, Configurable) else None
        self.tools = AgentTools(registry, root_dir, parent=parent)
        self._apps: dict[bool, ASGIApp] = {}
        self._starting: dict[bool, asyncio.Future[ASGIApp]] = {}
        self._runners: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def server(self) -> Any:
        types = sdk("mcp_types")
        Server = sdk("mcp.server.lowlevel").Server
        MCPError = sdk("mcp.shared.exceptions").MCPError

        max_wait = self.tools.max_wait_seconds
        listed = types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    description=tool.description,
                    input_schema=tool.input_schema(max_wait),
                    output_schema=tool.output_schema(),
                    annotations=types.ToolAnnotations(
                        read_only_hint=tool.reads,
                        destructive_hint=not tool.reads,
                        idempotent_hint=True,
                        open_world_hint=False,
                    ),
                )
                for tool in TOOLS.values()
            ]
        )

        async def list_tools(ctx: Any, params: Any) -> Any:
            return listed

        async def call_tool(ctx: Any, params: Any) -> Any:
            request = ctx.request
            caller = request.scope.get(CALLER) if request is not None else None
            if not isinstance(caller, Caller):
                caller = Caller(reveal=False)  # (every request comes with one)
            try:
                tool = TOOLS.get(params.name)
                if tool is None:
                    raise ToolError(
                        INVALID_PARAMS,
                        f"Unknown tool: {agent_text_name(params.name)}. The tools are "
                        + ", ".join(TOOLS)
                        + ".",
                    )
                data = await self.tools.call(
                    tool.name,
                    caller,
                    arguments(tool, params.arguments, self.tools.max_wait_seconds),
                )
            except ToolError as err:
                raise MCPError(code=err.code, message=err.message) from None
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=agent_text.RENDER[tool.name](data))],
                structured_content=data,
            )

        return Server(
            "jupyter-session-ext",
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )

    async def app(self, events: bool) -> ASGIApp:
        """The transport's ASGI application, its session manager started by
        the first request to ask (the manager's task group then lives in a
        task of its own, as the SDK asks: one `run()` per manager)."""
        app = self._apps.get(events)
        if app is not None:
            return app
        starting = self._starting.get(events)
        if starting is None:
            starting = self._starting[events] = asyncio.get_running_loop().create_future()
            self._runners.append(asyncio.ensure_future(self._run(starting, events)))
        return await asyncio.shield(starting)

    async def _run(self, started: asyncio.Future[ASGIApp], events: bool) -> None:
        manager_class = sdk("mcp.server.streamable_http_manager").StreamableHTTPSessionManager
        try:
            manager = manager_class(app=self.server(), stateless=True, json_response=not events)
            async with manager.run():
                self._apps[events] = manager.handle_request
                started.set_result(manager.handle_request)
                await self._stopping.wait()
        except BaseException as err:
            if not started.done():
                started.set_exception(err if isinstance(err, Exception) else RuntimeError(err))
            raise
        finally:
            self._apps.pop(events, None)

    async def post(self, handler: Any) -> None:
        """Answer the request of `handler`, a route's handler (authenticated,
        allowed to read kernels)."""
        found = checked(handler.request)
        if found.error:
            handler.set_status(found.status)
            await handler.finish(found.error)
            return
        # Code as REST shows it; interrupting needs what the REST interrupt
        # needs (write), and execute.
        caller = Caller(await handler.reveals(), lambda: allowed(handler, "write", "execute"))
        handler.exchange = Exchange(handler, found.body, {CALLER: caller})
        await handler.exchange.run(await self.app(found.events))

    @staticmethod
    def closed(handler: Any) -> None:
        """The client of `handler` went away: what its request waits for ends."""
        exchange = getattr(handler, "exchange", None)
        if exchange is not None:
            exchange.disconnected()

    async def stop(self) -> None:
        """End the session managers (and every request they still serve)."""
        self._stopping.set()
        runners, self._runners = self._runners, []
        if not runners:
            return
        for runner in runners:
            try:
                await asyncio.wait_for(runner, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                pass
        # sse-starlette (the SDK's server-sent events) leaves a task on the
        # loop that polls for a uvicorn's shutdown, and there is none here:
        # ended with the server, rather than left pending as the loop closes.
        for task in asyncio.all_tasks():
            code = getattr(task.get_coro(), "cr_code", None)
            if code is not None and code.co_name == "_shutdown_watcher":
                if "sse_starlette" in code.co_filename:
                    task.cancel()


def agent_text_name(name: Any) -> str:
    """A tool name the caller sent, quoted safely for the error."""
    return json.dumps(str(name)[:60])
