"""The wheel of this repository, installed as a user would beside older and
newer Jupyters, each in a fresh venv of its own (`make test-compat`).

The wheel is built from a clean tree: the sdist from `git archive HEAD` (that
step builds the labextension, with node), then the wheel from the sdist with
no node on PATH (the sdist carries the labextension). Each venv gets the wheel
and its Jupyter with no node on PATH either. Both are made once under
`.venv-compat/` (gitignored) and reused while their inputs hold: the wheel
while HEAD's tree is the same, a venv while its pins and the wheel's hash are.

    python tests/compat_venv.py wheel          # the path of the wheel
    python tests/compat_venv.py lab-4.0        # the path of that venv
    python tests/compat_venv.py all            # those COMPAT_TARGETS selects
    python tests/compat_venv.py targets        # those, as JSON

COMPAT_TARGETS="lab-4.2 notebook-7.2" (or "all") selects venvs other than
the four of `make test`; COMPAT_WHEEL=path/to.whl tests another wheel (an older release's, say);
COMPAT_CACHE=dir keeps its venvs apart from those of HEAD's wheel.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from server_process import own_dirs

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("COMPAT_CACHE", ROOT / ".venv-compat"))


# The Jupyters each venv holds beside the wheel (and a kernel for them), the
# app its browser tests open, and the port of their server. `make test` uses
# CHECKED: the oldest JupyterLab and Notebook 7 this extension claims,
# JupyterLab 4.4 (notebooks windowed by default, as from 4.2 to 4.4), and the
# newest. The others are the latest release of every other minor version,
# for a run over the whole range (COMPAT_TARGETS=all). Notebook 7.0.0 takes
# JupyterLab >= 4.0.2: the oldest of those is pinned with it, so that its
# `jupyter labextension list` judges by 4.0 too; later Notebooks take the
# JupyterLab of their own minor version.
@dataclass(frozen=True)
class Target:
    pins: list[str]
    app: str  # "lab" or "notebook"
    port: int


TARGETS: dict[str, Target] = {
    "lab-4.0": Target(["jupyterlab==4.0.0"], "lab", 8910),
    "notebook-7.0": Target(["notebook==7.0.0", "jupyterlab==4.0.2"], "notebook", 8911),
    "lab-4.6": Target(["jupyterlab==4.6.6"], "lab", 8912),
    "lab-4.4": Target(["jupyterlab==4.4.10"], "lab", 8913),
    "lab-4.1": Target(["jupyterlab==4.1.8"], "lab", 8914),
    "lab-4.2": Target(["jupyterlab==4.2.7"], "lab", 8915),
    "lab-4.3": Target(["jupyterlab==4.3.8"], "lab", 8916),
    "lab-4.5": Target(["jupyterlab==4.5.11"], "lab", 8917),
    "notebook-7.1": Target(["notebook==7.1.3"], "notebook", 8918),
    "notebook-7.2": Target(["notebook==7.2.3"], "notebook", 8919),
    "notebook-7.3": Target(["notebook==7.3.3"], "notebook", 8920),
    "notebook-7.4": Target(["notebook==7.4.7"], "notebook", 8921),
    "notebook-7.5": Target(["notebook==7.5.8"], "notebook", 8922),
    "notebook-7.6": Target(["notebook==7.6.5"], "notebook", 8923),
}
CHECKED = ["lab-4.0", "notebook-7.0", "lab-4.4", "lab-4.6"]
KERNEL = "ipykernel==7.4.0"


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    print("+", " ".join(str(a) for a in argv), file=sys.stderr, flush=True)
    subprocess.run(argv, check=True, env=env, cwd=cwd)


def without_node(bin_dir: Path) -> dict[str, str]:
    """This environment with PATH reduced to `bin_dir`, where no node is.
    What pip, the build and the servers need is in the venv itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = str(bin_dir)
    for tool in ("node", "nodejs", "npm"):
        found = shutil.which(tool, path=env["PATH"])
        if found:
            raise RuntimeError(f"{tool} is on the PATH meant to have no node: {found}")
    return env


@contextmanager
def locked(name: str) -> Iterator[None]:
    """Held by one process at a time: the browser tests' servers start
    together, each asking for its venv, and so for the wheel."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f".{name}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel() -> Path:
    """The wheel of HEAD (built once per tree), or COMPAT_WHEEL's."""
    given = os.environ.get("COMPAT_WHEEL")
    if given:
        return Path(given).resolve()
    tree = subprocess.run(
        ["git", "rev-parse", "HEAD^{tree}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    with locked("wheel"):
        return _built(tree)


def _built(tree: str) -> Path:
    out = CACHE / "wheels" / tree
    built = sorted(out.glob("*.whl"))
    if built:
        return built[0]
    # Always the same directory for this worktree: webpack's module ids
    # depend on where it builds, and the same tree then gives the same wheel
    # (so the venvs of the last one are kept).
    tmp = Path(tempfile.gettempdir()) / (
        "jupyter-session-ext-build-" + hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    )
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        src, dist = tmp / "src", tmp / "dist"
        src.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        # The sdist builds the labextension (node and jlpm from this venv's PATH).
        run([sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(src)])
        (sdist,) = dist.glob("*.tar.gz")
        # The wheel from the sdist, with no node to be found.
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        env = without_node(bin_dir)
        run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(sdist)], env=env)
        (whl,) = dist.glob("*.whl")
        # Only the wheel of the latest tree is kept.
        shutil.rmtree(CACHE / "wheels", ignore_errors=True)
        out.mkdir(parents=True)
        shutil.copy2(whl, out / whl.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / whl.name


def venv(name: str, whl: Path | None = None) -> Path:
    """The venv `name` of TARGETS holding the wheel: made, or reused while
    its inputs are the same. Returns its root."""
    whl = whl or wheel()
    with locked(name):
        return _made(name, whl)


def _made(name: str, whl: Path) -> Path:
    root = CACHE / name
    python = root / "bin" / "python"
    pins = [*TARGETS[name].pins, KERNEL]
    key = json.dumps(
        {"python": sys.version, "pins": pins, "wheel": sha256(whl)},
        indent=1,
        sort_keys=True,
    )
    marker = root / "compat-inputs.json"
    if marker.exists() and marker.read_text() == key and python.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(root)])
    env = without_node(root / "bin")
    run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + [str(whl), *pins],
        env=env,
    )
    marker.write_text(key)
    return root


def forget(root: Path) -> None:
    """Have `root` made afresh on its next use (a test changed it)."""
    (root / "compat-inputs.json").unlink(missing_ok=True)


def selected() -> list[str]:
    """The targets COMPAT_TARGETS names ("all": every one), or CHECKED."""
    wanted = os.environ.get("COMPAT_TARGETS", "").split()
    if wanted == ["all"]:
        return list(TARGETS)
    unknown = set(wanted) - set(TARGETS)
    if unknown:
        raise SystemExit(f"COMPAT_TARGETS: no such target {sorted(unknown)}; see {TARGETS}")
    return wanted or CHECKED


def prepare(whl: Path, names: list[str]) -> list[Path]:
    """The venvs of `names`, two made at a time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda name: venv(name, whl), names))


def server_env(root: Path, home: Path) -> dict[str, str]:
    """The environment for a Jupyter of the venv at `root`: its own tools
    first, and config and data only from the venv and `home` (not the
    user's ~/.jupyter nor the test venv's); its kernels' IPython folder
    (where each keeps its history) under `home` too, not ~/.ipython."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JUPYTER") and k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env["PATH"] = os.pathsep.join([str(root / "bin"), "/usr/bin", "/bin"])
    env.update(own_dirs(home))
    return env


def main() -> int:
    what = sys.argv[1] if len(sys.argv) > 1 else "wheel"
    if what == "wheel":
        print(wheel())
    elif what == "targets":
        # For playwright-compat.config.js: the selected targets and their servers.
        print(json.dumps({name: asdict(TARGETS[name]) for name in selected()}))
    elif what == "all":
        for root in prepare(wheel(), selected()):
            print(root)
    else:
        print(venv(what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
