"""One HTTP request of a tornado handler served by an ASGI application.

Why a bridge: the MCP SDK's Streamable HTTP transport is an ASGI
application (starlette), while jupyter_server is tornado. Serving the MCP
endpoint on the server's own port, behind its login, TLS, base_url and
Authorizer, means calling that application from a tornado handler, after
the handler has authenticated and authorized the request. Only what one
request needs is bridged: the body tornado has already read, the response
(streamed, for server-sent events), and the client going away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# Never handed to the application: the credentials tornado has already
# checked (the SDK has no use for them, and must not log them), and the
# headers of one hop, which tornado sets for the response it writes.
_WITHHELD_REQUEST = frozenset({"authorization", "cookie"})
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class Exchange:
    """Runs `app` for the request `handler` holds, whose body is `body`.

    `disconnected()` is for the handler's `on_connection_close`: the
    application's `receive` then says `http.disconnect`, and its task is
    cancelled, so whatever it awaits for this request (a tool waiting for a
    kernel) ends with the request instead of outliving it."""

    def __init__(self, handler: web.RequestHandler, body: bytes, extra: dict[str, Any]) -> None:
        self.handler = handler
        self.body = body
        self.extra = extra  # added to the scope: what the tools may learn of the caller
        self.gone = asyncio.Event()
        self.started = False
        self.content_type: str | None = None  # the application's
        self.finished = False
        self.task: asyncio.Task[None] | None = None

    def scope(self) -> Scope:
        request = self.handler.request
        host, _, port = (request.host or "").rpartition(":")
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers.get_all()
            if name.lower() not in _WITHHELD_REQUEST
        ]
        path = request.path
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": request.version.removeprefix("HTTP/"),
            "method": request.method,
            "scheme": request.protocol,
            "path": path,
            "raw_path": path.encode("latin-1", "replace"),
            "query_string": (request.query or "").encode("latin-1", "replace"),
            "root_path": "",
            "headers": headers,
            "client": (request.remote_ip, 0),
            "server": (host or request.host, int(port) if port.isdigit() else None),
            "state": {},
            **self.extra,
        }

    async def receive(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None  # type: ignore[assignment]
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        handler = self.handler
        kind = message["type"]
        if self.gone.is_set():
            # An OSError, as a server whose client went away raises: the
            # SDK's stream writers take it as the client's disconnect.
            raise StreamClosedError()
        if kind == "http.response.start":
            self.started = True
            handler.clear_header("Content-Type")
            handler.set_status(message["status"])
            for name, value in message.get("headers", ()):
                key = name.decode("latin-1")
                if key.lower() == "content-type":
                    self.content_type = value.decode("latin-1")
                if key.lower() not in _HOP_BY_HOP:
                    handler.add_header(key, value.decode("latin-1"))
        elif kind == "http.response.body":
            body = message.get("body", b"")
            if body:
                handler.write(body)
            if message.get("more_body", False):
                await handler.flush()  # each server-sent event as it comes
            elif not self.finished:
                self.finished = True
                # jupyter_server's APIHandler says JSON unless told otherwise.
                told = isinstance(handler, APIHandler) and self.content_type
                try:
                    await handler.finish(
                        **({"set_content_type": self.content_type} if told else {})
                    )
                except StreamClosedError:
                    pass  # it had all it asked for, and closed first

    async def run(self, app: ASGIApp) -> None:
        # A task of its own, so that the client's going away cancels the
        # application and not the handler (which tornado then logs).
        self.task = asyncio.ensure_future(app(self.scope(), self.receive, self.send))
        try:
            await self.task
        except asyncio.CancelledError:
            if not self.gone.is_set():
                raise  # the server stops: not ours to swallow
        except StreamClosedError:
            pass  # the client went away while we wrote
        if not self.finished and not self.gone.is_set():
            self.finished = True
            if not self.started:
                self.handler.set_status(500)  # the application answered nothing
            await self.handler.finish()

    def disconnected(self) -> None:
        if self.gone.is_set():
            return
        self.gone.set()
        if self.task is not None and not self.task.done() and not self.finished:
            self.task.cancel()
