"""jupyter_session_ext: an ActiveSession record for every Jupyter kernel."""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["ActiveSessionsApp", "__version__"]


def __getattr__(name: str) -> Any:
    # The app (and jupyter_server with it) loads when it is asked for, so the
    # state core can be imported without a server (tests/test_layers.py).
    if name == "ActiveSessionsApp":
        from .app import ActiveSessionsApp

        return ActiveSessionsApp
    raise AttributeError(name)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import ActiveSessionsApp

    return [{"module": "jupyter_session_ext", "app": ActiveSessionsApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-session-ext"}]
