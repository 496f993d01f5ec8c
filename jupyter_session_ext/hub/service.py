"""Where HTTP enters the fleet service: Hub OAuth, and who may see the fleet.

    GET  {prefix}api/fleet                           every running server's sessions,
                                                     a line per user
    POST {prefix}api/fleet/users/{user}/shutdown-idle  that user's idle kernels

Admins of the Hub may read it, and members of `allowed_groups`; any other
user gets 403. Configuration comes from the environment JupyterHub gives a
managed service (JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL,
JUPYTERHUB_SERVICE_URL, JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_PUBLIC_URL) and
from command-line options (`--help-all`).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from traitlets import Float, Int, Set, Unicode, default
from traitlets.config import Application

from .fleet import Fleet, HubError


class JSONErrors(web.RequestHandler):
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message % exc.args if exc.args else exc.log_message
        self.finish(json.dumps({"error": reason, "status": status_code}))


class FleetHandler(HubOAuthenticated, JSONErrors):
    def initialize(self, fleet: Fleet, allowed_groups: set[str], log: logging.Logger) -> None:
        self.fleet = fleet
        self.allowed_groups = allowed_groups
        self.log = log  # the service's: managed services log into the Hub's output

    def may_read(self, user: dict[str, Any]) -> bool:
        return bool(user.get("admin") or self.allowed_groups & set(user.get("groups") or ()))

    @web.authenticated
    async def get(self) -> None:
        if not self.may_read(self.current_user):
            raise web.HTTPError(403, "Only Hub admins may see every user's sessions.")
        try:
            view = await self.fleet.gather()
        except HubError as err:
            raise web.HTTPError(502, str(err)) from None
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(view))


class ShutDownIdleHandler(FleetHandler):
    """POST {"min_idle_seconds": N, "server_name": ""}: shut down a user's
    kernels idle for at least N seconds; the Hub's log says which admin."""

    @web.authenticated
    async def post(self, user: str) -> None:
        admin = self.current_user
        if not self.may_read(admin):
            raise web.HTTPError(403, "Only Hub admins may shut down other users' kernels.")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "The body is not JSON.") from None
        if not isinstance(body, dict) or set(body) - {"min_idle_seconds", "server_name"}:
            raise web.HTTPError(400, "Expected {\"min_idle_seconds\": N, \"server_name\": \"\"}.")
        idle = body.get("min_idle_seconds")
        if isinstance(idle, bool) or not isinstance(idle, int) or not 0 <= idle <= 10**9:
            raise web.HTTPError(
                400, "min_idle_seconds must be a whole number of seconds, 0 or more.")
        server_name = body.get("server_name", "")
        if not isinstance(server_name, str):
            raise web.HTTPError(400, "server_name must be a string.")
        try:
            result = await self.fleet.shut_down_idle(user, server_name, idle)
        except HubError as err:
            raise web.HTTPError(502, str(err)) from None
        if result is None:
            raise web.HTTPError(404, f"{user} has no running server {server_name!r}.")
        self.log.warning(
            "Active sessions: %s shut down %d idle kernel(s) of %s (idle >= %d s): %s",
            admin["name"], len(result["shut_down"]), user, idle,
            ", ".join(result["shut_down"]) or "none")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result))


class FleetService(Application):
    name = "jupyter-active-sessions-hub"
    description = "The active sessions of every user's server, for JupyterHub admins."

    timeout = Float(5.0, help="Seconds to wait for one server before showing it "
                    "as unreachable.").tag(config=True)
    max_concurrency = Int(50, help="Servers asked at once.").tag(config=True)
    allowed_groups = Set(Unicode(), help="Hub groups whose members may see the fleet, "
                         "besides admins.").tag(config=True)
    proxy_url = Unicode(help="The proxy's origin (scheme://host:port) where the "
                        "single-user servers are reached. Default: that of "
                        "$JUPYTERHUB_PUBLIC_HUB_URL (set when the Hub has a public_url), "
                        "else http://127.0.0.1:8000.").tag(config=True)

    @default("proxy_url")
    def _proxy_url(self) -> str:
        public = urlparse(os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL", ""))
        # A server's url from the Hub API is a path with the Hub's base_url in it.
        return f"{public.scheme}://{public.netloc}" if public.netloc else "http://127.0.0.1:8000"

    aliases = {"timeout": "FleetService.timeout", "proxy-url": "FleetService.proxy_url",
               "max-concurrency": "FleetService.max_concurrency"}

    def make_app(self) -> web.Application:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/active-sessions/")
        hub_auth = HubOAuth(parent=self)
        fleet = Fleet(hub_auth.api_url, self.proxy_url, hub_auth.api_token,
                      timeout=self.timeout, max_concurrency=self.max_concurrency)
        options = {"fleet": fleet, "allowed_groups": set(self.allowed_groups), "log": self.log}
        return web.Application([
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
            (prefix + r"api/fleet/?", FleetHandler, options),
            (prefix + r"api/fleet/users/([^/]+)/shutdown-idle", ShutDownIdleHandler, options),
        # No xsrf_cookies: HubOAuth checks XSRF itself for cookie-authenticated
        # POSTs (tornado's check would come before a token is seen, and refuse it).
        ], cookie_secret=os.urandom(32), hub_auth=hub_auth)

    def start(self) -> None:
        bind = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
        HTTPServer(self.make_app()).listen(bind.port or 80, bind.hostname or "127.0.0.1")
        self.log.info("Active sessions fleet service on %s", bind.geturl())
        IOLoop.current().start()


main = FleetService.launch_instance
