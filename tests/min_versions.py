"""`make test-min`: the Python suite with the lowest versions the package
claims (pyproject.toml's floors), on the lowest and the newest Python it
claims, each in a venv of its own (.venv-min-3.10, ...).

    .venv/bin/python tests/min_versions.py [--python 3.10 3.13] [pytest args]

An interpreter is found on PATH (python3.10) or under pyenv's versions.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The floors of [project.dependencies] and of the hub extra, installed exactly.
FLOORS = [
    "jupyter_server==2.21.0",
    "jupyter_client==8.6.0",
    "tornado==6.5.7",
    "traitlets==5.14.0",
    "psutil==5.9.0",
    "prometheus_client==0.14.0",
    "jupyterhub==5.4.6",
]
# What the tests need, at whatever version that Python takes.
TOOLS = [
    "ipykernel",
    "pytest",
    "pytest-jupyter[server]",
    "pytest-timeout",
    "schemathesis",
    "jupyter-kernel-gateway",
    # jupyter-kernel-gateway 3.0.1 imports distutils, gone from Python 3.12 on;
    # setuptools puts it back.
    "setuptools",
    "jupyter-resource-usage",
    "voila",
    "requests",
    "flaky",
    "playwright",
]


def runs(python: str) -> bool:
    # pyenv's shims are on PATH for every version but run only the active ones.
    return subprocess.run([python, "--version"], capture_output=True).returncode == 0


def interpreter(version: str) -> str:
    found = shutil.which(f"python{version}")
    if found and runs(found):
        return found
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    if not candidates:
        raise SystemExit(f"no Python {version} here (on PATH or under {root}/versions)")
    return candidates[-1]


def floors_match_pyproject() -> None:
    """The floors above are those pyproject.toml claims."""
    text = (ROOT / "pyproject.toml").read_text()
    for pin in FLOORS:
        name, version = pin.split("==")
        if not re.search(rf'"{re.escape(name)}>={re.escape(version)}[,"]', text):
            raise SystemExit(f"pyproject.toml does not claim {name}>={version}")


def run(version: str, pytest_args: list[str]) -> int:
    venv = ROOT / f".venv-min-{version}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([interpreter(version), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-e", str(ROOT), *FLOORS, *TOOLS],
        check=True,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"},
    )
    versions = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, jupyter_server, tornado, jupyter_client, traitlets, "
            "psutil, jupyterhub; print(sys.version.split()[0], 'jupyter_server', "
            "jupyter_server.__version__, 'tornado', tornado.version, 'jupyter_client', "
            "jupyter_client.__version__, 'traitlets', traitlets.__version__, 'psutil', "
            "psutil.__version__, 'jupyterhub', jupyterhub.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"== Python {versions}", flush=True)
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args], cwd=ROOT
    ).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", nargs="+", default=["3.10", "3.13"])
    args, pytest_args = parser.parse_known_args()
    floors_match_pyproject()
    codes = [run(version, pytest_args) for version in args.python]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
