"""A server for the browser tests of the wheel beside another Jupyter: the
Jupyter of a venv of tests/compat_venv.py (made on first use), with its own
packages only: the wheel installed there, not the test venv's editable
install, and neither the test venv's nor the user's Jupyter config or data.

    python compat_server.py lab-4.0        # JupyterLab 4.0.0 on its port (compat_venv.TARGETS)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from compat_venv import TARGETS, server_env, venv  # noqa: E402


def main() -> int:
    name = sys.argv[1]
    target = TARGETS[name]
    module = "jupyterlab" if target.app == "lab" else "notebook"
    root = venv(name)
    python = str(root / "bin" / "python")
    home = Path(tempfile.mkdtemp(prefix=f"compat-{name}-"))
    argv = [
        python,
        "-m",
        module,
        "--config",
        str(HERE / "jupyter_server_test_config.py"),
        f"--ServerApp.port={target.port}",
        # Notebook 7 shows window.jupyterapp with its own switch (Galata's
        # configuration sets JupyterLab's).
        *(["--JupyterNotebookApp.expose_app_in_browser=True"] if module == "notebook" else []),
    ]
    os.execve(python, argv, server_env(root, home))
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
