"""A venv of its own for a peer extension that cannot share the test venv:
jupyter-server-nbmodel, once installed, replaces JupyterLab's cell executor
for every browser test. The peer venv sees the test venv's packages (this
package, jupyter_server, ipykernel…) through a .pth, and holds only the
peer's own, installed with the test venv's pip at pinned versions. Made
once under `.venv-peers/<name>-<python version>` (gitignored) and reused while its pins hold.
"""

from __future__ import annotations

import fcntl
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
# The official MCP SDK (the extension's `mcp` extra) and what it needs beyond
# the test venv: its client drives the tests of api/active-sessions/mcp, its
# server answers them. Python 3.10 takes older versions of its web parts.
MCP = [
    "mcp==2.3.0",
    "mcp-types==2.3.0",
    *(
        [
            "httpx2==2.17.0",
            "httpcore2==2.17.0",
            "sse-starlette==3.7.1",
            "starlette==1.10.0",
            "uvicorn==0.55.0",
            "python-multipart==0.0.34",
        ]
        if sys.version_info >= (3, 11)
        else [
            "httpx2==2.14.0",
            "httpcore2==2.14.0",
            "sse-starlette==3.5.1",
            "starlette==1.7.0",
            "uvicorn==0.54.0",
            "python-multipart==0.0.32",
        ]
    ),
    "truststore==0.10.5",
    "pyjwt==2.15.1",
    "opentelemetry-api==1.45.3",
]
# jupyter-server-mcp 0.4.1 (its own MCP port, tools from entry points) and its
# FastMCP, at the versions the registries serve for Python 3.11 and later, on
# top of the SDK.
SERVER_MCP = [
    *MCP,
    "jupyter-server-mcp==0.4.1",
    "fastmcp==4.2.3",
    "fastmcp-slim==4.2.3",
    "authlib==1.9.10",
    "aiofile==3.12.3",
    "beartype==0.23.1",
    "cachetools==8.0.3",
    "caio==0.12.10",
    "cyclopts==5.5.2",
    "dnspython==2.9.2",
    "docstring-parser==0.18.0",
    "email-validator==2.4.0",
    "exceptiongroup==1.3.2",
    "griffelib==2.4.1",
    "joserfc==1.8.0",
    "jsonref==1.1.0",
    "jsonschema-path==0.5.0",
    "openapi-pydantic==0.6.0",
    "pathable==0.6.0",
    "py-key-value-aio==0.5.0",
    "pydantic-settings==2.16.3",
    "pyperclip==1.11.0",
    "python-dotenv==1.2.4",
    "rich-rst==2.2.0",
    "uncalled-for==0.6.2",
    "watchfiles==1.3.0",
]


def peer_site(name: str, pins: list[str]) -> str:
    """The site-packages folder of the peer venv `name` (made as
    `peer_python` makes it), to put after the test venv's own on sys.path:
    the peer's packages, none of which the test venv has, for the tests'
    own process."""
    python = peer_python(name, pins)
    return subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def peer_python(name: str, pins: list[str]) -> str:
    """The interpreter of the peer venv `name`, with `pins` installed."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    root = ROOT / ".venv-peers" / f"{name}-{version}"
    root.parent.mkdir(exist_ok=True)
    # One process makes it while the others wait: `make test` runs the suite
    # in several, and two tests may ask for the same peer at once.
    with (root.parent / f".{name}-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _made(root, pins)


def _made(root: Path, pins: list[str]) -> str:
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
