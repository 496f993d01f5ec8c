"""jupyter_server's own tests, with this extension loaded into every ServerApp
they create (`make test-upstream`).

    .venv/bin/python tests/upstream/run.py [--compare]

Fetches the sdist of the installed jupyter_server through pip (it carries its
`tests/` folder) into .upstream/, then runs the kernel, session, event and
gateway tests with the `extension_everywhere` plugin. Tests listed in
known_failures.txt fail the same way without the extension; they are
deselected and printed with the reason. Nothing is run twice: upstream's own
`@pytest.mark.flaky` reruns are off, and a test listed in known_flaky.txt
is run once more, when only such tests failed, only if its line carries the
evidence that it fails now and then without the extension too ("failed N of
M runs without the extension: COMMAND"); a line without it stops the run.
A test the extension makes flaky is the extension's to fix, not to retry.
`--compare` also runs the suite without the extension and prints both
counts side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from server_process import own_dirs  # noqa: E402

CACHE = ROOT / ".upstream"
SUITES = [
    "tests/services/kernels",
    "tests/services/sessions",
    "tests/services/events",
    "tests/test_gateway.py",
]


def upstream_tests() -> Path:
    release = f"jupyter_server-{version('jupyter_server')}"
    folder = CACHE / release
    if not (folder / "tests").is_dir():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"jupyter_server=={release.split('-')[1]}",
                "-d",
                str(CACHE),
            ],
            check=True,
        )
        with tarfile.open(CACHE / f"{release}.tar.gz") as sdist:
            sdist.extractall(CACHE, filter="data")
    return folder


def known_failures(name: str = "known_failures.txt") -> list[tuple[str, str]]:
    """(node id, reason) of each line `node-id  # reason` in a list of HERE."""
    listed = []
    for line in (HERE / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            node, _, reason = line.partition("#")
            listed.append((node.strip(), reason.strip()))
    return listed


def run(
    folder: Path, enabled: bool, known: list[tuple[str, str]], tests: list[str] = SUITES
) -> tuple[int, str, list[str]]:
    """(exit code, summary line, node ids of the failed tests)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    }
    if not enabled:
        env["JUPYTER_SESSION_EXT_OFF"] = "1"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "extension_everywhere",
        "-p",
        "no:cacheprovider",
        # Upstream marks some tests flaky for the `flaky` plugin to rerun:
        # here they run once, like every other (the mark stays known).
        "-p",
        "no:flaky",
        "-o",
        "markers=flaky: rerun upstream by the flaky plugin, run once here",
        "-q",
        "--color=no",
        "-o",
        "addopts=-ra",
        *tests,
    ]
    for node, _ in known:
        argv += ["--deselect", node]
    # Anything its tests start outside pytest-jupyter's folders gets folders
    # of the run, not the user's.
    with tempfile.TemporaryDirectory(prefix="jupyter-server-tests-") as dirs:
        proc = subprocess.run(
            argv,
            cwd=folder,
            env={**env, **own_dirs(Path(dirs))},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    sys.stdout.write(proc.stdout)
    summary = [ln for ln in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", ln)]
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.MULTILINE)
    return proc.returncode, summary[-1].strip("= ") if summary else "no summary", failed


# What a line of known_flaky.txt must say, with N at least 1.
EVIDENCE = re.compile(r"failed (\d+) of (\d+) runs without the extension: \S")


def flaky_tests() -> list[tuple[str, str]]:
    """known_flaky.txt's tests, each with its evidence; SystemExit if a line
    has none (a test is not retried on hearsay)."""
    listed = known_failures("known_flaky.txt")
    for node, reason in listed:
        found = EVIDENCE.search(reason)
        if found is None or int(found.group(1)) < 1 or int(found.group(1)) > int(found.group(2)):
            raise SystemExit(
                f"known_flaky.txt: {node} says no 'failed N of M runs without the "
                "extension: COMMAND'; run it without the extension, or take it out"
            )
    return listed


def flaky_only(failed: list[str], flaky: list[tuple[str, str]]) -> bool:
    """Whether every failed test is one listed in known_flaky.txt."""
    return bool(failed) and all(any(f.startswith(node) for node, _ in flaky) for f in failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run without the extension and print both counts",
    )
    args = parser.parse_args()
    folder = upstream_tests()
    known = known_failures()
    flaky = flaky_tests()
    print(f"jupyter_server's tests from {folder} ({', '.join(SUITES)})")
    for node, reason in known:
        print(f"deselected, fails without the extension too: {node} ({reason})")
    for node, reason in flaky:
        print(f"run once more if only such tests fail: {node} ({reason})")
    code, with_ext, failed = run(folder, True, known)
    if code != 0 and flaky_only(failed, flaky):
        # Each failed test fails now and then without the extension too
        # (its evidence is in known_flaky.txt): once more, and said so.
        print(f"\nRERUN: only tests flaky without the extension failed: {failed}")
        code, again, failed = run(folder, True, known, failed)
        with_ext = f"{with_ext}; RERUN of those: {again}"
    else:
        with_ext = f"{with_ext}; no rerun"
    print(f"\nwith the extension:    {with_ext}")
    if args.compare:
        _, without, _ = run(folder, False, known)
        print(f"without the extension: {without}")
    return code


if __name__ == "__main__":
    sys.exit(main())
