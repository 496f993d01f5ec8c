"""jupyter_session_ext: an ActiveSession record for every Jupyter kernel."""

from ._version import __version__
from .app import ActiveSessionsApp

__all__ = ["ActiveSessionsApp", "__version__"]


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jupyter_session_ext", "app": ActiveSessionsApp}]


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": "labextension", "dest": "jupyter-session-ext"}]
