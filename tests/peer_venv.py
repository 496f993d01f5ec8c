"""A venv of its own for a peer extension that cannot share the test venv:
jupyter-server-nbmodel, once installed, replaces JupyterLab's cell executor
for every browser test. The peer venv sees the test venv's packages (this
package, jupyter_server, ipykernel…) through a .pth, and holds only the
peer's own, installed with the test venv's pip at pinned versions. Made
once under `.venv-peers/<name>-<python version>` (gitignored) and reused while its pins hold.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# jupyter-server-documents 0.3.3 and the versions of its dependencies the
# registries serve (its own pins: collaboration-ui and docprovider < 4,
# fileid < 0.10); pycrdt 0.14.13 has wheels for Python 3.11 and later only.
SERVER_DOCUMENTS = [
    "jupyter-server-documents==0.3.3",
    "jupyter-collaboration-ui==3.0.4",
    "jupyter-docprovider==3.0.4",
    "jupyter-server-fileid==0.9.3",
    "jupyter-ydoc==4.2.1",
    "pycrdt==0.14.13" if sys.version_info >= (3, 11) else "pycrdt==0.14.8",
]
NOTEBOOK = ["notebook==7.6.5"]


def peer_python(name: str, pins: list[str]) -> str:
    """The interpreter of the peer venv `name`, with `pins` installed."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    root = ROOT / ".venv-peers" / f"{name}-{version}"
    python = root / "bin" / "python"
    marker = root / "pins.txt"
    # Made for this test venv (make test-min runs others) and these pins.
    wanted = "\n".join([sys.prefix, *pins])
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return str(python)
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The test venv's packages after the peer's own (their .pth files too:
    # this package is installed editable).
    (site / "_test_venv.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--prefix",
            str(root),
            *pins,
        ],
        check=True,
    )
    marker.write_text(wanted)
    return str(python)
