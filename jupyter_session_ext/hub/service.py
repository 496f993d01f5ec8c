"""Where HTTP enters the fleet service: Hub OAuth, and who may see the fleet.

    GET  {prefix}                                    the page (static/fleet.js draws it)
    GET  {prefix}api/fleet                           every running server's sessions,
                                                     a line per user
    POST {prefix}api/fleet/users/{user}/shutdown-idle  that user's idle kernels
    GET  {prefix}metrics                             Prometheus, a label per user

The scopes of the token a request carries decide (access.py): the
service's access scope reads figures (the metrics and each server's
summary), a custom scope each the sessions (the code users run included)
and shutting kernels down; anyone else gets 403. Configuration comes from
the environment JupyterHub gives a managed service (JUPYTERHUB_API_TOKEN,
JUPYTERHUB_API_URL, JUPYTERHUB_SERVICE_URL, JUPYTERHUB_SERVICE_PREFIX,
JUPYTERHUB_SERVICE_NAME, JUPYTERHUB_PUBLIC_URL) and from command-line
options (`--help-all`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyter_core.paths import jupyter_path
from jupyterhub.services.auth import (
    HubOAuth,
    HubOAuthCallbackHandler,
    HubOAuthenticated,
    UserNotAllowed,
)
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Float, Int, Set, Unicode, default
from traitlets.config import Application

from .access import SESSIONS_SCOPE, SHUTDOWN_SCOPE, Rights, access_scope, rights
from .answers import printable
from .fleet import MAX_ANSWER_BYTES, Fleet, summaries_only
from .fleet_metrics import exposition
from .hub_api import HubAPI, HubError
from .user_tokens import UserTokens

HERE = Path(__file__).parent
SERVICE = "active-sessions"
GUESSED_PROXY = "http://127.0.0.1:8000"  # JupyterHub's own default for its public port
THEMES = {"light": "theme-light-extension", "dark": "theme-dark-extension"}
# Revoking the users' tokens at a stop: bounded, so a Hub that does not
# answer cannot hold the service up; well within the Hub's wait between its
# SIGINT and its SIGTERM (30 s).
REVOKE_SECONDS = 8.0


def jupyterlab_theme(name: str) -> Path | None:
    """JupyterLab's own theme stylesheet (its --jp-* variables), when
    JupyterLab is installed beside the service; the page has fallbacks."""
    for root in jupyter_path("lab", "themes", "@jupyterlab", THEMES[name]):
        found = Path(root) / "index.css"
        if found.is_file():
            return found
    return None


class NotFramed(web.RequestHandler):
    def set_default_headers(self) -> None:
        # No page may frame ours and trick an admin into clicking "Shut down"
        # (clickjacking): not another site's, nor one on a user's server,
        # which shares the Hub's origin without subdomain_host.
        # X-Frame-Options for browsers without CSP's frame-ancestors.
        self.set_header("Content-Security-Policy", "frame-ancestors 'none'")
        self.set_header("X-Frame-Options", "DENY")


class StaticFiles(NotFramed, web.StaticFileHandler):
    pass


class JSONErrors(NotFramed):
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps({"error": self.reason_for(status_code, kwargs), "status": status_code})
        )

    def reason_for(self, status_code: int, kwargs: dict[str, Any]) -> str:
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message % exc.args if exc.args else exc.log_message
        return reason


class FleetHandler(HubOAuthenticated, JSONErrors):
    def initialize(self, fleet: Fleet, service: str, log: logging.Logger) -> None:
        self.fleet = fleet
        self.service = service
        self.log = log  # the service's: managed services log into the Hub's output

    def check_hub_user(self, model: dict[str, Any]) -> dict[str, Any]:
        """HubAuth's own check (the access scopes the Hub gave a managed
        service), then ours, which holds when those are not set (a service
        the Hub does not start, whose HubAuth would then allow anyone)."""
        model = super().check_hub_user(model)
        if not rights(model, self.service).use:
            raise UserNotAllowed(model)
        return model

    @property
    def rights(self) -> Rights:
        return rights(self.current_user, self.service)

    def reason_for(self, status_code: int, kwargs: dict[str, Any]) -> str:
        reason = super().reason_for(status_code, kwargs)
        if status_code == 403 and reason.endswith("is not allowed."):  # HubAuth's refusal
            reason += f" This service needs the scope {access_scope(self.service)}."
        return reason

    async def readable_view(self) -> dict[str, Any]:
        """The gathered fleet: whole for a token with the sessions scope,
        else summaries only (figures, no code)."""
        try:
            view = await self.fleet.gather()
        except HubError as err:
            raise web.HTTPError(502, str(err)) from None
        return view if self.rights.read_sessions else summaries_only(view)

    def finish_json(self, document: Any) -> None:
        self.set_header("Content-Type", "application/json")
        # Strict JSON: a browser's JSON.parse takes no NaN (shaping leaves none).
        self.finish(json.dumps(document, allow_nan=False))

    @web.authenticated
    async def get(self) -> None:
        self.finish_json(await self.readable_view())


class ShutDownIdleHandler(FleetHandler):
    """POST {"min_idle_seconds": N, "server_name": ""}: shut down a user's
    kernels idle for at least N seconds; the Hub's log says who asked."""

    @web.authenticated
    async def post(self, user: str) -> None:
        admin = self.current_user
        if not self.rights.shut_down:
            raise web.HTTPError(
                403, f"Shutting down users' kernels needs the scope {SHUTDOWN_SCOPE}."
            )
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "The body is not JSON.") from None
        if not isinstance(body, dict) or set(body) - {"min_idle_seconds", "server_name"}:
            raise web.HTTPError(400, 'Expected {"min_idle_seconds": N, "server_name": ""}.')
        idle = body.get("min_idle_seconds")
        if isinstance(idle, bool) or not isinstance(idle, int) or not 0 <= idle <= 10**9:
            raise web.HTTPError(
                400, "min_idle_seconds must be a whole number of seconds, 0 or more."
            )
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
            printable(admin["name"]),
            len(result["shut_down"]),
            printable(user),
            idle,
            ", ".join(result["shut_down"]) or "none",
        )
        self.finish_json(result)


class PageHandler(FleetHandler):
    """The fleet page, in JupyterLab's look: the data comes from api/fleet."""

    @web.authenticated
    async def get(self) -> None:
        theme = self.get_argument("theme", "")
        self.render(
            "fleet.html",
            admin=self.current_user["name"],
            rights=self.rights,
            sessions_scope=SESSIONS_SCOPE,
            xsrf_token=self.xsrf_token,
            theme=theme if theme in THEMES else "",
            hub_url=os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/",
            refresh_seconds=self.settings["refresh_seconds"],
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code != 403:
            return super().write_error(status_code, **kwargs)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(f"403: {self.reason_for(status_code, kwargs)}\n")


class ThemeHandler(NotFramed):
    def get(self, name: str) -> None:
        found = jupyterlab_theme(name)
        if found is None:
            raise web.HTTPError(404)
        self.set_header("Content-Type", "text/css; charset=UTF-8")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(found.read_bytes())


class MetricsHandler(FleetHandler):
    """Prometheus text, gathered at the scrape, for any token with the
    service's access scope: figures only, whoever reads."""

    @web.authenticated
    async def get(self) -> None:
        view = await self.readable_view()
        body, content_type = exposition(view)  # figures only, whoever reads
        self.set_header("Content-Type", content_type)
        self.finish(body)


class FleetService(Application):
    name = "jupyter-active-sessions-hub"
    description = "The active sessions of every user's server, for JupyterHub admins."

    timeout = Float(
        5.0, help="Seconds to wait for one server before showing it as unreachable."
    ).tag(config=True)
    max_concurrency = Int(50, help="Servers asked at once.").tag(config=True)
    # Still accepted, so a deployment that set them starts and says what to
    # do instead; they grant nothing: the Hub's scopes decide (access.py).
    allowed_groups = Set(
        Unicode(), help="Ignored: grant a role instead (docs: JupyterHub, who may use it)."
    ).tag(config=True)
    allowed_services = Set(
        Unicode(), help="Ignored: grant a role instead (docs: JupyterHub, who may use it)."
    ).tag(config=True)
    min_interval = Float(
        2.0,
        help="Seconds a gathered view is served again before "
        "the servers are asked anew: pages refreshing and Prometheus "
        "scraping cost the servers at most one round per interval "
        "(an admin's action starts a new one).",
    ).tag(config=True)
    refresh_seconds = Float(
        5.0, help="How often the page asks for the fleet again (0: only when asked)."
    ).tag(config=True)
    proxy_url = Unicode(
        help="The proxy's origin (scheme://host:port) where the "
        "single-user servers are reached. Default: that of "
        "$JUPYTERHUB_PUBLIC_HUB_URL (set when the Hub has a public_url), "
        f"else {GUESSED_PROXY} (said at start)."
    ).tag(config=True)

    token_lifetime = Int(
        3600,
        min=60,
        help="Seconds each user's token lives. The service "
        "sends a user's server only a token of that user's own, scoped "
        "`access:servers!user=<name>`, minted through the Hub's API and "
        "renewed shortly before it expires; at most the Hub's "
        "token_expires_in_max_seconds.",
    ).tag(config=True)
    max_answer_bytes = Int(
        MAX_ANSWER_BYTES,
        help="Bytes read of one server's answer; "
        "a larger one shows that server as an invalid answer.",
    ).tag(config=True)

    @default("proxy_url")
    def _proxy_url(self) -> str:
        public = urlparse(os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL", ""))
        # A server's url from the Hub API is a path with the Hub's base_url in it.
        return f"{public.scheme}://{public.netloc}" if public.netloc else GUESSED_PROXY

    def _say_where_servers_are(self) -> None:
        if self.proxy_url == GUESSED_PROXY and "proxy_url" not in self.config.FleetService:
            self.log.warning(
                "Active sessions: the Hub has no public_url, so the users' servers are "
                "looked for through the proxy at %s. If the proxy listens elsewhere, set "
                "c.JupyterHub.public_url in jupyterhub_config.py or give the service "
                "--proxy-url=http://HOST:PORT.",
                GUESSED_PROXY,
            )
        else:
            self.log.info(
                "Active sessions: the users' servers are reached through %s", self.proxy_url
            )

    def _say_what_replaced_allowed(self) -> None:
        if self.allowed_groups or self.allowed_services:
            self.log.warning(
                "Active sessions: --FleetService.allowed_groups and allowed_services are "
                "ignored: the Hub's scopes decide. Give those groups (%s) and services (%s) "
                "a role with %s (figures), %s (sessions, code included) and %s (shutting "
                "kernels down), as docs/operators/jupyterhub.md shows.",
                ", ".join(sorted(self.allowed_groups)) or "none",
                ", ".join(sorted(self.allowed_services)) or "none",
                access_scope(os.environ.get("JUPYTERHUB_SERVICE_NAME", SERVICE)),
                SESSIONS_SCOPE,
                SHUTDOWN_SCOPE,
            )

    aliases = {
        "timeout": "FleetService.timeout",
        "proxy-url": "FleetService.proxy_url",
        "max-concurrency": "FleetService.max_concurrency",
        "refresh": "FleetService.refresh_seconds",
    }

    def make_app(self) -> web.Application:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/active-sessions/")
        hub_auth = HubOAuth(parent=self)
        # The service's own token goes to the Hub's API alone; each user's
        # server gets a token of that user's (user_tokens.py).
        hub = HubAPI(hub_auth.api_url, hub_auth.api_token)
        service = os.environ.get("JUPYTERHUB_SERVICE_NAME", SERVICE)
        tokens = self.tokens = UserTokens(
            hub, lifetime=self.token_lifetime, note=f"{service} service"
        )
        self._say_where_servers_are()
        fleet = Fleet(
            hub,
            tokens,
            self.proxy_url,
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            min_interval=self.min_interval,
            max_answer_bytes=self.max_answer_bytes,
            log=self.log,
        )
        self._say_what_replaced_allowed()
        options = {"fleet": fleet, "service": service, "log": self.log}
        return web.Application(
            [
                (prefix + "oauth_callback", HubOAuthCallbackHandler),
                (prefix + r"?", PageHandler, options),
                (prefix + r"theme/(light|dark)\.css", ThemeHandler),
                (prefix + r"api/fleet/?", FleetHandler, options),
                (prefix + r"api/fleet/users/([^/]+)/shutdown-idle", ShutDownIdleHandler, options),
                (prefix + r"metrics", MetricsHandler, options),
                # No xsrf_cookies: HubOAuth checks XSRF itself for cookie-authenticated
                # POSTs (tornado's check would come before a token is seen, and refuse it).
            ],
            cookie_secret=os.urandom(32),
            hub_auth=hub_auth,
            template_path=str(HERE / "templates"),
            static_path=str(HERE / "static"),
            static_handler_class=StaticFiles,
            static_url_prefix=prefix + "static/",
            refresh_seconds=self.refresh_seconds,
        )

    def start(self) -> None:
        asyncio.run(self.serve())

    async def serve(self) -> None:
        bind = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
        server = HTTPServer(self.make_app())
        server.listen(bind.port or 80, bind.hostname or "127.0.0.1")
        self.log.info("Active sessions fleet service on %s", bind.geturl())
        # The Hub stops a managed service with SIGINT, then SIGTERM: both end
        # it at once, even when SIGINT was ignored by whoever started the Hub.
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        server.stop()
        try:
            revoked = await asyncio.wait_for(self.tokens.revoke_all(), REVOKE_SECONDS)
            self.log.info("Active sessions: the Hub revoked %d user token(s)", revoked)
        except asyncio.TimeoutError:
            self.log.warning(
                "Active sessions: the Hub did not revoke every user's token within %g s; "
                "those left expire within %d s",
                REVOKE_SECONDS,
                self.token_lifetime,
            )
        self.log.info("Active sessions fleet service stopped")


main = FleetService.launch_instance
