"""The wheel of this repository as a user gets it (`make test-compat`): built
from a clean tree, the wheel from the sdist with no node on PATH, installed
with no node on PATH into fresh venvs beside the oldest JupyterLab and
Notebook 7 it claims, JupyterLab 4.4 and the newest JupyterLab
(tests/compat_venv.py); there JupyterLab calls it compatible, and its
browser check passes. The `lab` extra
keeps the JupyterLab a venv already holds. The browser scenario in each venv:
ui-tests/compat/.

Not part of `make test-python` (pytest's norecursedirs): the venvs take a few
minutes to make the first time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import compat_venv
from compat_venv import TARGETS, selected

# The first test waits for the wheel and the venvs: minutes, the first time.
pytestmark = pytest.mark.timeout(3600)

HERE = Path(__file__).resolve().parent
LABEXTENSION = "share/jupyter/labextensions/jupyter-session-ext"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# A venv holding this JupyterLab gets "<wheel>[lab]".
EXTRA_BESIDE = "lab-4.4"


@pytest.fixture(scope="session")
def wheel() -> Path:
    whl = compat_venv.wheel()
    compat_venv.prepare(whl, sorted({*selected(), EXTRA_BESIDE}))
    return whl


def in_venv(
    target: str,
    wheel: Path,
    argv: list[str],
    tmp_path: Path,
    env_extra: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """`argv` (its first item a tool of the venv's bin) in the venv of `target`."""
    root = compat_venv.venv(target, wheel)
    env = {**compat_venv.server_env(root, tmp_path / "home"), **(env_extra or {})}
    return subprocess.run(
        [str(root / "bin" / argv[0]), *argv[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wheel_file(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(suffix)]
        return z.read(name).decode()


def test_the_wheel_carries_the_labextension(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    for part in ("package.json", "static/style.js", "install.json"):
        assert any(n.endswith(f"{LABEXTENSION}/{part}") for n in names), part
    assert any(re.search(rf"{LABEXTENSION}/static/remoteEntry\.\w+\.js$", n) for n in names)


def test_the_wheel_carries_the_catalogs(wheel: Path) -> None:
    """The JSON JupyterLab reads, made from the .po files by the wheel's own
    build (from the sdist, no node), and the entry point that leads to it."""
    with zipfile.ZipFile(wheel) as z:
        for language, title in (("fr_FR", "Sessions actives"), ("zh_CN", "活动会话")):
            name = f"jupyter_session_ext/locale/{language}/LC_MESSAGES/jupyter_session_ext.json"
            assert json.loads(z.read(name))["Active Sessions"] == [title]
    points = wheel_file(wheel, ".dist-info/entry_points.txt")
    assert "[jupyterlab.locale]\njupyter_session_ext = jupyter_session_ext\n" in points


# What jupyterlab_server (the one installed beside each JupyterLab) hands a
# JupyterLab set to French: our catalog among the installed packages'.
FIND_CATALOG = """
from jupyterlab_server.translation_utils import get_installed_packages_locale
data, message = get_installed_packages_locale("fr_FR")
print(data["jupyter_session_ext"]["Active Sessions"][0], message == "")
"""


@pytest.mark.parametrize("target", selected())
def test_jupyterlab_server_finds_the_catalogs(target: str, wheel: Path, tmp_path: Path) -> None:
    found = in_venv(target, wheel, ["python", "-c", FIND_CATALOG], tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "Sessions actives True"


def test_the_bundle_requires_what_package_json_declares(wheel: Path) -> None:
    """Each shared module the bundle takes from JupyterLab is required at the
    range its package.json declares (not at the version of the JupyterLab
    that built it, which the builder uses unless told otherwise)."""
    declared = json.loads(wheel_file(wheel, f"{LABEXTENSION}/package.json"))["dependencies"]
    with zipfile.ZipFile(wheel) as z:
        (entry,) = [
            n for n in z.namelist() if re.search(rf"{LABEXTENSION}/static/remoteEntry\.\w+\.js$", n)
        ]
        code = z.read(entry).decode()
    # Each consumed module is loaded as ("default", name, eager, range), in the
    # minified code too; webpack writes a caret range ^a.b.c as [1,a,b,c].
    required = {
        name: [int(x) for x in version.split(",")]
        for name, version in re.findall(
            r'\("default", ?"([^"]+)", ?(?:false|!1), ?\[([\d,]+)\]\)', code
        )
    }
    assert "@jupyterlab/application" in required
    expected = {}
    for name in required:
        match = re.fullmatch(r"\^(\d+)\.(\d+)\.(\d+)", declared[name])
        assert match, f"{name}: {declared[name]} is not a caret range"
        expected[name] = [1, *map(int, match.groups())]
    assert required == expected


@pytest.mark.parametrize("target", selected())
def test_jupyterlab_lists_it_as_compatible(target: str, wheel: Path, tmp_path: Path) -> None:
    listed = in_venv(target, wheel, ["jupyter", "labextension", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    out = ANSI.sub("", listed.stdout + listed.stderr)
    (line,) = [line for line in out.splitlines() if re.match(r"\s+jupyter-session-ext v", line)]
    assert re.search(r"\benabled\s+OK\b", line), out
    assert "not compatible" not in out, out


@pytest.mark.parametrize("target", selected())
def test_browser_check(target: str, wheel: Path, tmp_path: Path) -> None:
    checked = in_venv(
        target,
        wheel,
        ["python", str(HERE / "browser_check.py")],
        tmp_path,
        env_extra={"COMPAT_DRIVER_PYTHON": sys.executable},
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "browser check: 0 errors" in checked.stdout, checked.stdout + checked.stderr


def test_the_lab_extra_keeps_the_jupyterlab_there(wheel: Path) -> None:
    """In a venv holding JupyterLab 4.4 (and not this package), `pip install
    "<wheel>[lab]"` leaves that JupyterLab as it is."""
    root = compat_venv.venv(EXTRA_BESIDE, wheel)
    python = str(root / "bin" / "python")
    env = compat_venv.without_node(root / "bin")

    def jupyterlab() -> str:
        return subprocess.run(
            [python, "-c", "import jupyterlab; print(jupyterlab.__version__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    before = jupyterlab()
    assert [f"jupyterlab=={before}"] == TARGETS[EXTRA_BESIDE].pins
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    with compat_venv.locked(EXTRA_BESIDE):  # no server of it starts meanwhile
        try:
            subprocess.run([*pip, "uninstall", "--yes", "jupyter_session_ext"], env=env, check=True)
            subprocess.run([*pip, "install", f"{wheel}[lab]"], env=env, check=True)
            after = jupyterlab()
        except BaseException:
            compat_venv.forget(root)
            raise
    if after != before:
        compat_venv.forget(root)  # no longer what its pins say: made afresh next time
    assert after == before
