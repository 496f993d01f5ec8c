"""What capturing kernels' output costs the server (the kernels' last
words), side by side: two real `jupyter server` subprocesses with the
extension, `KernelOutput.capture` on in one and off in the other, each
with a real ipykernel kernel, in alternating rounds (medians).

    .venv/bin/python benchmarks/last_words.py [--rounds N] [--quick]

1. server CPU seconds (user + system) per 1,000 pipelined cells of `pass`
   (nothing written: what capture costs a kernel that is quiet);
2. the same for 1,000 cells that each write a 100-byte line to fd 2, as a C
   library's warning does: through ipykernel's own copy of it (its thread
   copies it to the notebook and to the kernel's stderr, which capture reads);
3. a 50 MB flood written as fast as the kernel can to its stderr (past
   ipykernel's thread: the capture's own cost, not the notebook's stream):
   the server's CPU, and how long the kernel took to write it (capture off:
   straight into the server's log file).

Each server's stderr goes to a file, as a server's log does. Prints the
table and writes it to benchmarks/RESULTS.md ("last-words").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from run import settled  # noqa: E402

from harness import Client, Server, machine, update_results  # noqa: E402

CAPTURE_OFF = ["--KernelOutput.capture=False"]
LINE = "import os\nos.write(2, b'warning: ' + b'w' * 90 + b'\\n')"
FLOOD = """
import os, sys
fd = getattr(sys.stderr, "_original_stdstream_copy", 2)
line = b"x" * 99 + b"\\n"
block = line * 10_000
for _ in range({mb} * 2**20 // len(block)):
    data = block
    while data:
        data = data[os.write(fd, data):]
"""


async def side_by_side(rounds: int, codes: list[str]) -> dict[bool, dict[str, list[float]]]:
    """Per round, each server's CPU seconds and the wall seconds of `codes`."""
    on, off = Server(True), Server(True, CAPTURE_OFF)
    servers = {True: on, False: off}
    try:
        clients = {k: await Client.open(s, s.start_kernel()) for k, s in servers.items()}
        procs = {k: psutil.Process(s.proc.pid) for k, s in servers.items()}
        await settled()
        spent: dict[bool, dict[str, list[float]]] = {k: {"cpu": [], "wall": []} for k in servers}
        for r in range(rounds):
            for key in (True, False) if r % 2 == 0 else (False, True):
                before = procs[key].cpu_times()
                began = time.perf_counter()
                await clients[key].run(codes)
                wall = time.perf_counter() - began
                after = procs[key].cpu_times()
                spent[key]["cpu"].append(after.user + after.system - before.user - before.system)
                spent[key]["wall"].append(wall)
        for client in clients.values():
            client.close()
        return spent
    finally:
        on.stop()
        off.stop()


def row(what: str, spent: dict[bool, dict[str, list[float]]], kind: str = "cpu") -> str:
    on, off = (max(0.0, statistics.median(spent[k][kind])) for k in (True, False))
    # (A ratio to next to nothing says nothing: the difference does.)
    ratio = f" ({on / off - 1:+.0%})" if off >= 0.05 else ""
    return f"| {what} | {on:.3f} s | {off:.3f} s | {on - off:+.3f} s{ratio} |"


async def main(rounds: int, quick: bool) -> None:
    cells = 200 if quick else 1000
    mb = 10 if quick else 50
    quiet = await side_by_side(rounds, ["pass"] * cells)
    loud = await side_by_side(rounds, [LINE] * cells)
    flood = await side_by_side(rounds, [FLOOD.format(mb=mb)])
    per = f"{cells:,}"
    rows = [
        "| measure (median of alternating rounds) | capture on | capture off | on - off |",
        "|---|---|---|---|",
        row(f"server CPU per {per} cells of `pass`", quiet),
        row(f"server CPU per {per} cells each writing a line to fd 2", loud),
        row(f"server CPU for a {mb} MB flood of the kernel's stderr", flood),
        row(f"the kernel's time to write the {mb} MB", flood, "wall"),
    ]
    table = "\n".join(rows)
    print(table)
    update_results(
        "last-words",
        f"## Last words: capturing kernels' output ({rounds} rounds)\n\n{machine()}, "
        f"{time.strftime('%Y-%m-%d')}\n\n`python benchmarks/last_words.py --rounds {rounds}`"
        f"{' --quick' if quick else ''}\n\n{table}\n",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 cells, 10 MB")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.quick))
