"""Where HTTP enters: thin tornado handlers over the registry.

Each handler authenticates, authorizes (resource `kernels`: read for GET,
write otherwise), parses (validation.py), calls the registry or its actions
and answers with what serialize.py makes. Errors are JSON `{"message": ...}`
through jupyter_server's APIHandler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .._version import __version__
from ..state.record import TrackedKernel, UnknownKernel
from ..untrusted import LogLimiter, printable
from . import mcp_endpoint, serialize, validation
from .encoder import SessionEncoder
from .registry_view import Registry


class Refusal(web.HTTPError):
    """A 4xx whose message may quote what the client sent: answered as it
    is, and logged as text, never as a format string. (tornado doubles each
    % of a message given without arguments, and jupyter_server's APIHandler
    answers that doubled text.)"""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, "%s", message)
        self.message = message


# Our refusals in the server's log: a line per route and status a minute
# (each request is in the access log anyway).
_refusals = LogLimiter()


AUTH_RESOURCE = "kernels"
OPENAPI_PATH = Path(__file__).parent / "openapi.yaml"
# What openapi.yaml says in place of its info.version.
OPENAPI_VERSION_LINE = b"  version: PACKAGE_VERSION\n"
# Anything up to the next slash, so a malformed id gets our JSON 404 rather
# than tornado's HTML one.
SESSION_ID = r"(?P<session_id>[^/]+)"


class ActiveSessionsHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE

    # tornado passes the route's keywords; the ExtensionApp adds its name.
    def initialize(  # type: ignore[override]
        self, registry: Registry, encoders: dict[bool, SessionEncoder], name: str = ""
    ) -> None:
        super().initialize(name=name)
        self.registry = registry
        self.encoders = encoders  # by whether the reader may see what kernels run

    async def reveals(self) -> bool:
        """Whether this user may see the code kernels run, their environment and
        command line: what jupyter_server's own `execute` permission on kernels
        protects (`read` shows the kernel model only)."""
        allowed = self.authorizer.is_authorized(self, self.current_user, "execute", AUTH_RESOURCE)
        return bool(await ensure_async(allowed))

    def query(self, name: str) -> str | None:
        """The query argument `name`, or None; validation.BadRequest when
        it is given more than once."""
        return validation.once(self.get_query_arguments(name), name)

    def tracked(self, session_id: str) -> TrackedKernel:
        try:
            return self.registry.get(session_id)
        except UnknownKernel:
            raise Refusal(404, f"No active session with id {session_id!r}.") from None

    async def session_json(self, tracked: TrackedKernel) -> str:
        reveal = await self.reveals()
        await self.registry.refresh_bound()
        return self.encoders[reveal].session(tracked)

    @classmethod
    def allowed_methods(cls) -> list[str]:
        return [
            m
            for m in ("GET", "PATCH", "POST", "DELETE")
            if getattr(cls, m.lower()) is not getattr(web.RequestHandler, m.lower())
        ]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            # RFC 9110: a 405 lists what the resource does allow.
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        refusal = (kwargs.get("exc_info") or (None, None))[1]
        if isinstance(refusal, Refusal):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": refusal.message, "reason": None}))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, Refusal):
            _refusals.warning(
                f"{value.status_code} {type(self).__name__}",
                "%d %s: %s",
                value.status_code,
                printable(self._request_summary()),
                printable(value.message),
                log=self.log,
            )
            return
        super().log_exception(typ, value, tb)

    def status_document(self, kernels: list[TrackedKernel]) -> dict[str, Any]:
        return serialize.server_status(
            self.registry.changes,
            kernels,
            self.registry.memory,
            version=__version__,
            started=self.settings["started"],
        )

    def write_json(self, data: Any, status: int = 200) -> None:
        """`data` is encoded, unless it is JSON text already."""
        self.set_status(status)
        self.finish(data if isinstance(data, str) else json.dumps(data, allow_nan=False))

    def body_changes(self) -> dict[str, Any]:
        try:
            return validation.session_patch(self.request.body)
        except validation.BadRequest as err:
            raise Refusal(400, str(err)) from None


class SessionListHandler(ActiveSessionsHandler):
    def compute_etag(self) -> str | None:
        # The list changes every second (idle and busy timers): an ETag would
        # rarely match, and hashing its 2 KB per kernel costs every read.
        return None

    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            include = validation.list_include(self.query("include"))
        except validation.BadRequest as err:
            raise Refusal(400, str(err)) from None
        await self.registry.refresh_bound()
        reveal = await self.reveals()
        kernels = self.registry.all()
        text = self.encoders[reveal].session_list(kernels)
        # {"total", "sessions", "ended": …, "status": …}: what those routes answer.
        parts: dict[str, Any] = {}
        if "ended" in include:
            complete = await self.registry.store.wait_read()
            parts["ended"] = serialize.ended(
                self.registry.ended_kernels(), self.serverapp.root_dir, reveal, complete
            )
        if "status" in include:
            parts["status"] = self.status_document(kernels)
        if parts:
            text = (
                text[:-1]
                + "".join(f', "{k}": {json.dumps(v, allow_nan=False)}' for k, v in parts.items())
                + "}"
            )
        self.write_json(text)


class ServerStatusHandler(ActiveSessionsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.status_document(self.registry.all()))


def openapi_document() -> bytes:
    """The OpenAPI document as served: the shipped file, with this package's
    version as its info.version (a JSON string is a YAML string)."""
    served = f"  version: {json.dumps(__version__)}\n".encode()
    return OPENAPI_PATH.read_bytes().replace(OPENAPI_VERSION_LINE, served, 1)


class OpenAPIHandler(ActiveSessionsHandler):
    """The API's OpenAPI 3.1 document, shipped in the package."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(openapi_document(), set_content_type="application/yaml; charset=utf-8")


class SessionHandler(ActiveSessionsHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.write_json(await self.session_json(self.tracked(session_id)))

    @web.authenticated
    @authorized
    async def patch(self, session_id: str) -> None:
        tracked = self.tracked(session_id)
        changes = self.body_changes()
        self.registry.actions.update(tracked.kernel_id, changes)
        self.write_json(await self.session_json(tracked))

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        tracked = self.tracked(session_id)
        await self.registry.actions.shutdown(tracked.kernel_id)
        self.set_status(204)
        self.finish()


class EndedHandler(ActiveSessionsHandler):
    """Kernels that are gone, and why."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        # After a restart, what earlier runs left comes from the store.
        complete = await self.registry.store.wait_read()
        reveal = await self.reveals()
        kernels = self.registry.ended_kernels()
        self.write_json(serialize.ended(kernels, self.serverapp.root_dir, reveal, complete))


class HistoryHandler(ActiveSessionsHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        try:
            limit = validation.history_limit(self.query("limit"))
        except validation.BadRequest as err:
            raise Refusal(400, str(err)) from None
        complete = True
        try:
            # A live kernel's, or an ended one's while its record is kept.
            total, executions = self.registry.history(session_id, limit)
        except UnknownKernel:
            # Perhaps one of an earlier run of the server, in the store.
            complete = await self.registry.store.wait_read()
            try:
                total, executions = self.registry.history(session_id, limit)
            except UnknownKernel:
                later = "" if complete else " (yet: the store is still being read)"
                raise Refusal(404, f"No session with id {session_id!r}{later}.") from None
        reveal = await self.reveals()
        self.write_json(serialize.history(total, executions, reveal, complete))


class ResourcesHandler(ActiveSessionsHandler):
    """A kernel's memory and CPU over the last hour, oldest first."""

    def points(self) -> int | None:
        try:
            return validation.history_limit(self.query("points"), "points")
        except validation.BadRequest as err:
            raise Refusal(400, str(err)) from None

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        points = self.points()
        self.write_json(serialize.timeline(self.tracked(session_id).timeline, points))


class AllResourcesHandler(ResourcesHandler):
    """Every kernel's timeline at once (the panel's sparklines), by session id."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        points = self.points()
        self.write_json(
            {
                "sessions": {
                    t.kernel_id: serialize.timeline(t.timeline, points) for t in self.registry.all()
                }
            }
        )


class KillHandler(ActiveSessionsHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        tracked = self.tracked(session_id)
        await self.registry.actions.kill(tracked.kernel_id)
        self.set_status(204)
        self.finish()


class InterruptHandler(ActiveSessionsHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        tracked = await self.registry.actions.interrupt(self.tracked(session_id).kernel_id)
        self.write_json(await self.session_json(tracked))


class RestartHandler(ActiveSessionsHandler):
    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        tracked = self.tracked(session_id)
        try:
            tracked = await self.registry.actions.restart(tracked.kernel_id)
        except UnknownKernel:
            raise Refusal(404, f"Session {session_id!r} went away while restarting.") from None
        self.write_json(await self.session_json(tracked))


class McpHandler(ActiveSessionsHandler):
    """The MCP endpoint for AI agents: mcp_endpoint.py answers."""

    def initialize(self, endpoint: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(**kwargs)
        self.endpoint: mcp_endpoint.McpEndpoint = endpoint

    @web.authenticated
    @authorized("read")  # every tool reads; code and interrupting are asked as for REST
    async def post(self) -> None:
        await self.endpoint.post(self)

    def on_connection_close(self) -> None:
        self.endpoint.closed(self)  # what a request waits for ends with it


def routes(registry: Registry, root_dir: str) -> list[tuple[str, type, dict[str, Any]]]:
    """URL patterns relative to base_url. `status` precedes the id route."""
    encoders = {reveal: SessionEncoder(registry, root_dir, reveal) for reveal in (True, False)}
    kwargs = {"registry": registry, "encoders": encoders}
    endpoint = {**kwargs, "endpoint": mcp_endpoint.McpEndpoint(registry, root_dir)}
    base = r"/api/active-sessions"
    return [
        (base + r"/?", SessionListHandler, kwargs),
        (base + r"/status/?", ServerStatusHandler, kwargs),
        (base + r"/openapi\.yaml", OpenAPIHandler, kwargs),
        (base + r"/mcp/?", McpHandler, endpoint),
        (base + r"/ended/?", EndedHandler, kwargs),
        (base + r"/resources/?", AllResourcesHandler, kwargs),
        (base + rf"/{SESSION_ID}/resources/?", ResourcesHandler, kwargs),
        (base + rf"/{SESSION_ID}/history/?", HistoryHandler, kwargs),
        (base + rf"/{SESSION_ID}/kill/?", KillHandler, kwargs),
        (base + rf"/{SESSION_ID}/interrupt/?", InterruptHandler, kwargs),
        (base + rf"/{SESSION_ID}/restart/?", RestartHandler, kwargs),
        (base + rf"/{SESSION_ID}/?", SessionHandler, kwargs),
    ]
