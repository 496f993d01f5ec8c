"""A server for the browser tests of the wheel beside another Jupyter: the
Jupyter of a venv of tests/compat_venv.py (made on first use), with its own
packages only: the wheel installed there, not the test venv's editable
install, and neither the test venv's nor the user's Jupyter config or data.

    python compat_server.py lab-4.0        # JupyterLab 4.0.0, port 8910
    python compat_server.py notebook-7.0   # Notebook 7.0.0, port 8911
    python compat_server.py lab-4.6        # JupyterLab 4.6.6, port 8912
    python compat_server.py lab-4.4        # JupyterLab 4.4.10, port 8913
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from compat_venv import server_env, venv  # noqa: E402

# name: (the Jupyter's module, port)
SERVERS = {
    "lab-4.0": ("jupyterlab", 8910),
    "notebook-7.0": ("notebook", 8911),
    "lab-4.6": ("jupyterlab", 8912),
    "lab-4.4": ("jupyterlab", 8913),
}


def main() -> int:
    name = sys.argv[1]
    module, port = SERVERS[name]
    root = venv(name)
    python = str(root / "bin" / "python")
    home = Path(tempfile.mkdtemp(prefix=f"compat-{name}-"))
    argv = [
        python,
        "-m",
        module,
        "--config",
        str(HERE / "jupyter_server_test_config.py"),
        f"--ServerApp.port={port}",
        # Notebook 7 shows window.jupyterapp with its own switch (Galata's
        # configuration sets JupyterLab's).
        *(["--JupyterNotebookApp.expose_app_in_browser=True"] if module == "notebook" else []),
    ]
    os.execve(python, argv, server_env(root, home))
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
