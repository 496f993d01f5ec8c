"""A pytest plugin for jupyter_server's own test suite: every ServerApp it
initializes loads jupyter_session_ext, whose registry then follows the
kernels once the test's loop runs (the app schedules that as it loads), and
a test fails if the extension failed to load into any of them.

    pytest -p extension_everywhere ...   (this folder on PYTHONPATH)

Set JUPYTER_SESSION_EXT_OFF=1 to run the same suite without the extension,
for a side-by-side count.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from jupyter_server.serverapp import ServerApp

NAME = "jupyter_session_ext"
ENABLED = os.environ.get("JUPYTER_SESSION_EXT_OFF") != "1"

_original_initialize = ServerApp.initialize
_loads = {"ok": 0, "failed": 0, "watchers": 0}
_failures: list[str] = []


def _initialize(self: ServerApp, *args: Any, **kwargs: Any) -> None:
    # initialize() keeps what is set here over what config files say.
    self.jpserver_extensions = {**self.jpserver_extensions, NAME: True}
    _original_initialize(self, *args, **kwargs)
    if getattr(self, "_dispatching", False):
        return
    point = self.extension_manager.extension_points.get(NAME)
    app = getattr(point, "app", None)
    if app is not None and getattr(app, "registry", None) is not None:
        _loads["ok"] += 1
    else:
        _loads["failed"] += 1
        _failures.append(f"{NAME} did not load into ServerApp {id(self):#x}")


if ENABLED:
    ServerApp.initialize = _initialize  # type: ignore[method-assign]

    from jupyter_session_ext.traffic.activity_watcher import ServerActivity

    _original_activity = ServerActivity.__init__

    def _counted(self: ServerActivity, *args: Any, **kwargs: Any) -> None:
        _original_activity(self, *args, **kwargs)
        _loads["watchers"] += 1  # a kernel whose watcher's job the extension does

    ServerActivity.__init__ = _counted  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _extension_loaded_everywhere() -> Any:
    _failures.clear()
    yield
    if _failures:
        pytest.fail("; ".join(_failures), pytrace=False)


def pytest_report_header(config: pytest.Config) -> str:
    return f"{NAME}: {'enabled in every ServerApp' if ENABLED else 'NOT loaded (comparison run)'}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ENABLED:
        terminalreporter.write_line(
            f"{NAME}: loaded into {_loads['ok']} ServerApps, failed in {_loads['failed']}; "
            f"did the IOPub activity watcher's job for {_loads['watchers']} kernels"
        )
