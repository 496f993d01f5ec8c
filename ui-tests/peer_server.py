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
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from peer_venv import peer_python  # noqa: E402

PEERS = {
    # jupyter-server-documents 0.3.3 and the versions of its dependencies
    # the registries serve (its own pins: collaboration-ui/docprovider < 4,
    # fileid < 0.10).
    "server-documents": (
        [
            "jupyter-server-documents==0.3.3",
            "jupyter-collaboration-ui==3.0.4",
            "jupyter-docprovider==3.0.4",
            "jupyter-server-fileid==0.9.3",
            "jupyter-ydoc==4.2.1",
            "pycrdt==0.14.13",
        ],
        ["-m", "jupyterlab"],
        8902,
    ),
    "notebook": (["notebook==7.6.5"], ["-m", "notebook"], 8903),
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
