"""The panel's TypeScript against the typings of the oldest JupyterLab it
claims (`make test-compat`): the `@jupyterlab/*` packages at the versions
JupyterLab 4.0.0 itself is made of (its `staging/package.json`, from the venv
tests/compat_venv.py makes for it), installed with npm into `.venv-compat/`,
and `tsc` over a copy of `labextension/src`. An API that came later (a
method, an export, an argument) fails here, while the build, against the
newest typings, takes it. `@lumino/*` resolve to their newest 2.x (the
registry here lacks some 2.0 releases).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import compat_venv

pytestmark = pytest.mark.timeout(3600)

ROOT = compat_venv.ROOT
OLDEST = "lab-4.0"


def oldest_versions() -> dict[str, str]:
    """`@jupyterlab/*` and react as the oldest JupyterLab's own build has them."""
    root = compat_venv.venv(OLDEST)
    (staging,) = root.glob("lib/python*/site-packages/jupyterlab/staging/package.json")
    resolutions = json.loads(staging.read_text())["resolutions"]
    return {
        name: version.lstrip("~^")
        for name, version in resolutions.items()
        if name.startswith("@jupyterlab/") or name in ("react", "react-dom")
    }


def test_the_sources_type_check_against_the_oldest_jupyterlab() -> None:
    ours = json.loads((ROOT / "package.json").read_text())
    pinned = oldest_versions()
    dependencies = {name: pinned.get(name, r) for name, r in ours["dependencies"].items()}
    # Types of React as the build has them (the oldest JupyterLab ships none).
    dependencies["@types/react"] = ours["devDependencies"]["@types/react"]
    manifest = {
        "name": "oldest-typings",
        "private": True,
        "dependencies": dependencies,
        # Every @jupyterlab package, also those ours pull in, at that version.
        "overrides": {n: v for n, v in pinned.items() if n not in dependencies},
    }
    work = compat_venv.CACHE / f"typings-{OLDEST}"
    wanted = json.dumps(manifest, indent=1, sort_keys=True)
    if not (work / "node_modules").exists() or (work / "package.json").read_text() != wanted:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "package.json").write_text(wanted)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=work,
            check=True,
        )
    # The sources beside those packages (tsc looks for modules from the
    # importing file upwards), with the repository's compiler options.
    shutil.rmtree(work / "src", ignore_errors=True)
    shutil.copytree(ROOT / "labextension" / "src", work / "src")
    options = json.loads((ROOT / "tsconfig.json").read_text())["compilerOptions"]
    options.update(rootDir="src", composite=False, incremental=False, noEmit=True)
    options.pop("tsBuildInfoFile", None)
    (work / "tsconfig.json").write_text(
        json.dumps({"compilerOptions": options, "include": ["src/*"]}, indent=1)
    )
    installed = json.loads(
        (work / "node_modules" / "@jupyterlab" / "application" / "package.json").read_text()
    )["version"]
    assert installed == pinned["@jupyterlab/application"]
    checked = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "tsc"), "-p", str(work)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
