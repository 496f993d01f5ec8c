"""The Python suite N times while two CPU hogs compete for the cores
(`make stress`, N=5 by default): a test that passes only on a quiet machine
shows here. Prints pass/fail counts per test, and each failure's first lines.

    .venv/bin/python tests/stress.py [-n N] [--hogs 2] [pytest args...]

Exits 1 if any test failed in any run.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOG = "while True: pass"


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """test id -> (passed|failed|skipped, first lines of the failure)."""
    result = {}
    for case in ET.parse(junit).iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        if test in result:  # junit names of some parametrized tests coincide
            test += f" ({sum(t.startswith(test) for t in result) + 1})"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            text = (problem.get("message") or "") + "\n" + (problem.text or "")
            result[test] = ("failed", "\n".join(text.strip().splitlines()[:12]))
        elif case.find("skipped") is not None:
            result[test] = ("skipped", "")
        else:
            result[test] = ("passed", "")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--hogs", type=int, default=2, help="busy-looping processes")
    args, pytest_args = parser.parse_known_args()
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failures: list[tuple[int, str, str]] = []
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hogs)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(1, args.runs + 1):
                junit = Path(tmp) / f"run{run}.xml"
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        f"--junitxml={junit}",
                        *pytest_args,
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                if not junit.exists():
                    print(proc.stdout[-3000:])
                    return 1
                for test, (outcome, text) in outcomes(junit).items():
                    counts[test][outcome] += 1
                    if outcome == "failed":
                        failures.append((run, test, text))
                tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
                print(f"run {run}/{args.runs} ({args.hogs} CPU hogs): {tail}", flush=True)
    finally:
        for hog in hogs:
            hog.kill()
    width = max(len(t) for t in counts)
    print(f"\n{'test'.ljust(width)}  passed  failed")
    for test in sorted(counts, key=lambda t: (-counts[t]["failed"], t)):
        c = counts[test]
        print(f"{test.ljust(width)}  {c['passed']:>6}  {c['failed']:>6}")
    for run, test, text in failures:
        print(f"\n-- run {run}: {test}\n{text}")
    failed = sum(c["failed"] for c in counts.values())
    print(f"\n{len(counts)} tests x {args.runs} runs: {failed} failures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
