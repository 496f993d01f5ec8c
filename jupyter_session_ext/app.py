"""The server extension: builds one SessionRegistry and hands it to the handlers.

An extension lives inside someone else's server, which may load it more than
once (embedding apps and test harnesses initialize a ServerApp again) or see
it fail: whatever happens here, the server starts, serves and stops as it
would without it. So loading is idempotent per ServerApp, a failed load undoes
what it did and says so once, and every stop path tolerates what never started.
"""

from __future__ import annotations

import weakref
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop

from . import translations
from .api import agent_beside, metrics
from .api.agent_tools import AgentTools
from .api.handlers import ActiveSessionsHandler, routes
from .registry import CONFIGURABLE_CLASSES, SessionRegistry
from .traffic import server_execution
from .traffic import websocket as websocket_traffic

# The registry serving each ServerApp: a second load of the extension into the
# same server replaces it (or keeps it, when it follows the same kernels).
_serving: weakref.WeakKeyDictionary[Any, SessionRegistry] = weakref.WeakKeyDictionary()


class ActiveSessionsApp(ExtensionApp):
    name = "jupyter_session_ext"
    description = "Active sessions: a live record of every running kernel."
    # Listed so `jupyter server --help-all` documents the registry's options.
    classes = CONFIGURABLE_CLASSES
    load_other_extensions = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._displaced: list[SessionRegistry] = []

    registry: SessionRegistry | None = None
    metrics: metrics.SessionsCollector | None = None
    agent_tools: AgentTools | None = None
    schema_translation: translations.SchemaTranslation | None = None

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        assert serverapp is not None  # set before an extension's settings are made
        previous = _serving.get(serverapp)
        if previous is not None and previous.kernel_manager is serverapp.kernel_manager:
            # Loaded again into a server whose kernels it already follows.
            self.log.info(
                "Active sessions: loaded again into the same server; "
                "keeping the registry already following its kernels."
            )
            self.registry = previous
        else:
            if previous is not None:
                # The server was initialized anew (a new kernel manager and web
                # app). The web app built before may still serve (test harnesses
                # keep using it) with the registry it was given: that one stops
                # when this app stops.
                self._displaced.append(previous)
            self.registry = SessionRegistry(
                parent=self,
                log=self.log,
                kernel_manager=serverapp.kernel_manager,
                session_manager=serverapp.session_manager,
                event_logger=getattr(serverapp, "event_logger", None),
            )
        _serving[serverapp] = self.registry
        try:
            # Pending executions and stdin are only seen on the kernel websocket.
            registry = self.registry
            observed = websocket_traffic.install(
                serverapp,
                registry.tracker.router,
                self.log,
                self.settings,
                nodelay=lambda: registry.tcp_nodelay,
            )
            registry.tracker.server_counts_connections = websocket_traffic.counted_by_server(
                observed
            )
            # Executions a server extension sends the kernel itself (nbmodel).
            server_execution.install(serverapp.web_app, registry.tracker.router, self.log)
        except Exception as err:
            failed, self.registry = self.registry, None
            _unload(failed, serverapp)
            raise RuntimeError(
                f"Active sessions could not observe kernel websockets ({err!r}); "
                "the server runs without the extension."
            ) from err
        self.metrics = metrics.register(self.registry, self.log)
        # The settings editor's titles and descriptions in JupyterLab's language.
        if self.schema_translation is None:
            self.schema_translation = translations.SchemaTranslation(
                translations.DOMAIN, translations.catalog
            )
        # Follow the kernels as soon as the server's event loop runs (the start
        # hook below calls it again; servers made by test harnesses never run it).
        IOLoop.current().add_callback(self.registry.start)

    def initialize_handlers(self) -> None:
        if self.registry is None:
            return
        # A second load must not leave routes bound to a registry it replaced.
        ours = routes(self.registry, self.serverapp.root_dir if self.serverapp else "")
        self.handlers = [
            h for h in self.handlers if not issubclass(h[1], ActiveSessionsHandler)
        ] + ours
        # The read tools for jupyter-server-mcp, where it runs too (agent_beside.py).
        self.agent_tools = next(kw["endpoint"].tools for _, _, kw in ours if "endpoint" in kw)
        agent_beside.attach(self.agent_tools)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # The server's event loop runs now: follow kernels in the background.
        if self.registry is not None:
            self.registry.start()

    async def stop_extension(self) -> None:
        # The MCP endpoint's requests in flight end before the registry stops.
        for handler in self.handlers:
            kwargs = handler[2] if len(handler) > 2 and isinstance(handler[2], dict) else {}
            endpoint = kwargs.get("endpoint")
            if endpoint is not None:
                await endpoint.stop()
        if self.agent_tools is not None:
            agent_beside.detach(self.agent_tools)
        registry, self.registry = self.registry, None
        if registry is not None:
            _unload(registry, self.serverapp, server_stopping=True)
        while self._displaced:
            _unload(self._displaced.pop())
        self.metrics = None  # _unload took the registry's metrics back
        if self.schema_translation is not None:
            self.schema_translation.uninstall()
            self.schema_translation = None


def _unload(
    registry: SessionRegistry, serverapp: Any = None, server_stopping: bool = False
) -> None:
    """Stop `registry` and take back what was installed for it."""
    registry.stop(server_stopping=server_stopping)
    metrics.unregister_registry(registry)
    if serverapp is not None:
        websocket_traffic.uninstall(serverapp, registry.tracker.router)
        server_execution.uninstall(serverapp.web_app, registry.tracker.router)
        if _serving.get(serverapp) is registry:
            del _serving[serverapp]
