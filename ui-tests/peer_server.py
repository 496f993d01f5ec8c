"""A server for the browser tests of a peer extension that cannot share the
test venv (its frontend would change every other spec): the peer's venv
(tests/peer_venv.py) sees the test venv's packages, and this server sees
the test venv's JupyterLab build, labextensions (ours) and config.

    python peer_server.py server-documents   # JupyterLab + jupyter-server-documents, port 8902
    python peer_server.py notebook           # Notebook 7, port 8903
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from peer_venv import NOTEBOOK, SERVER_DOCUMENTS, peer_python  # noqa: E402

PEERS = {
    "server-documents": (SERVER_DOCUMENTS, ["-m", "jupyterlab"], 8902),
    "notebook": (NOTEBOOK, ["-m", "notebook"], 8903),
}


def main() -> int:
    name = sys.argv[1]
    pins, command, port = PEERS[name]
    python = peer_python(name, pins)
    share = Path(sys.prefix) / "share" / "jupyter"
    env = dict(os.environ)
    # The test venv's data (our labextension, JupyterLab's build) and config
    # (this extension enabled) after the peer's own.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(share), env.get("JUPYTER_PATH")]))
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        filter(None, [str(Path(sys.prefix) / "etc" / "jupyter"), env.get("JUPYTER_CONFIG_PATH")])
    )
    argv = [
        python,
        *command,
        "--config",
        str(HERE / "jupyter_server_test_config.py"),
        f"--ServerApp.port={port}",
        f"--LabServerApp.app_dir={share / 'lab'}",
    ]
    os.execve(python, argv, env)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
