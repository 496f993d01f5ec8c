"""Each shaper of untrusted input at large sizes: the input of
tests/test_shapers.py's TIMED table grown until it is about `--bytes` big,
its time, and the time of a quarter of it (the 4x ratio). The test holds
the ratio to 6 at tens of KB; this prints what the largest inputs cost,
where the cost of fresh memory pages shows too. Not a pass/fail test.

    .venv/bin/python benchmarks/shapers.py [--bytes 4194304]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_shapers import TIMED  # noqa: E402

from jupyter_session_ext.untrusted import Refused  # noqa: E402


def size_of(value: Any) -> int:
    return len(value) if isinstance(value, (bytes, str, list)) else len(repr(value))


def fastest(shape: Any, value: Any, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.thread_time()
        try:
            shape(value)
        except Refused:
            pass
        best = min(best, time.thread_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bytes", type=int, default=4 * 2**20, help="about this big, the largest")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| shaper | largest input | its time | 4x ratio (a quarter of it, then it) |")
    print("|---|---|---|---|")
    for name, (shape, make, n) in TIMED.items():
        while size_of(make(4 * n)) < args.bytes and n < 2**26:
            n *= 2
        small, large = make(n), make(4 * n)
        t_small = fastest(shape, small, args.runs)
        t_large = fastest(shape, large, args.runs)
        print(
            f"| {name} | {size_of(large):,} | {t_large * 1000:.1f} ms |"
            f" {t_large / max(t_small, 1e-9):.2f} |"
        )


if __name__ == "__main__":
    main()
