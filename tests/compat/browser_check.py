"""`python -m jupyterlab.browser_check` in a venv of compat_venv.py, with
Chromium driven by Playwright for Python from the test venv: JupyterLab's own
runner installs Playwright with npm and downloads a browser, neither of which
works on these machines (and the venv has no node). Everything else is
JupyterLab's: the server with the extensions, the page collecting errors, the
exit code.

    <venv>/bin/python browser_check.py   (COMPAT_DRIVER_PYTHON: the test venv's)
"""

import asyncio
import os
import sys
from pathlib import Path

from jupyterlab import browser_check

DRIVER = Path(__file__).with_name("chromium_check.py")


async def run_browser(url: str) -> None:
    proc = await asyncio.create_subprocess_exec(os.environ["COMPAT_DRIVER_PYTHON"], DRIVER, url)
    if await proc.wait() != 0:
        raise RuntimeError(f"the page at {url} reported errors (exit {proc.returncode})")


class CompatBrowserApp(browser_check.BrowserApp):
    # The server extension is this module, as `python -m` makes it upstream.
    name = __name__


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": CompatBrowserApp}]


if __name__ == "__main__":
    # BrowserApp looks its runner up in its module when it starts.
    browser_check.run_browser = run_browser
    sys.argv[1:1] = ["--ServerApp.allow_root=True"]
    CompatBrowserApp.launch_instance()
