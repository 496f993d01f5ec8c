"""The server extension: builds one SessionRegistry and hands it to the handlers."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

from . import metrics, websocket_traffic
from .handlers import routes
from .registry import CONFIGURABLE_CLASSES, SessionRegistry


class ActiveSessionsApp(ExtensionApp):
    name = "jupyter_session_ext"
    description = "Active sessions: a live record of every running kernel."
    # Listed so `jupyter server --help-all` documents the registry's options.
    classes = CONFIGURABLE_CLASSES
    load_other_extensions = True

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        self.registry = SessionRegistry(
            parent=self,
            log=self.log,
            kernel_manager=serverapp.kernel_manager,
            session_manager=serverapp.session_manager,
            event_logger=getattr(serverapp, "event_logger", None),
        )
        # Pending executions and stdin are only seen on the kernel websocket.
        websocket_traffic.install(serverapp, self.registry.tracker.router, self.log, self.settings)
        self.metrics = metrics.register(self.registry)

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes(self.registry))

    async def _start_jupyter_server_extension(self, serverapp) -> None:  # noqa: ANN001
        # The server's event loop runs now: follow kernels in the background.
        self.registry.start()

    async def stop_extension(self) -> None:
        self.registry.stop()
        metrics.unregister(self.metrics)
