"""The cost of live tracking, measured side by side in one run.

    python benchmarks/live_tracking.py [--rounds 5] [--cells 1000] [--executions 10000]

1. Execute throughput: `--cells` trivial cells sent at once over one websocket,
   to a server with the extension enabled and one with it disabled, in
   alternating rounds; the ratio of medians (enabled/disabled, higher is
   better, target >= 0.97).
2. Memory: the enabled server's RSS after 100 executions and after
   `--executions` executions (target: no growth beyond noise), with the
   disabled server measured the same way for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import Client, machine, servers  # noqa: E402


async def throughput(rounds: int, cells: int) -> dict:
    with servers(True, False) as (on, off):
        clients = {}
        for server in (on, off):
            clients[server.enabled] = await Client.open(server, server.start_kernel())
        times: dict[bool, list[float]] = {True: [], False: []}
        for r in range(rounds):
            # Alternate who goes first so drift on a shared machine hits both.
            order = (True, False) if r % 2 == 0 else (False, True)
            for enabled in order:
                times[enabled].append(await clients[enabled].run(["pass"] * cells))
        for c in clients.values():
            c.close()
    on_s, off_s = statistics.median(times[True]), statistics.median(times[False])
    return {
        "cells": cells, "rounds": rounds,
        "enabled_cells_per_s": cells / on_s, "disabled_cells_per_s": cells / off_s,
        "ratio": off_s / on_s, "enabled_times": times[True], "disabled_times": times[False],
    }


async def memory(executions: int) -> dict:
    result = {}
    with servers(True, False) as (on, off):
        for server in (on, off):
            client = await Client.open(server, server.start_kernel())
            await client.run(["pass"] * 99)
            after_100 = server.rss()
            done = 100
            while done < executions:
                batch = min(1000, executions - done)
                await client.run(["x = 1"] * batch)
                done += batch
            if server.enabled:
                status = server.get("api/active-sessions")["sessions"][0]
                assert status["execution_count"] == executions, status["execution_count"]
                assert status["execution_queue"]["length"] == 0
            result[server.enabled] = (after_100, server.rss())
            client.close()
    return {"executions": executions, "enabled": result[True], "disabled": result[False]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--executions", type=int, default=10_000)
    args = parser.parse_args()
    print(machine())
    t = asyncio.run(throughput(args.rounds, args.cells))
    print(f"throughput, {t['cells']} cells x {t['rounds']} rounds (median): "
          f"enabled {t['enabled_cells_per_s']:.0f} cells/s, "
          f"disabled {t['disabled_cells_per_s']:.0f} cells/s, ratio {t['ratio']:.3f}")
    print("  enabled  s:", " ".join(f"{x:.3f}" for x in t["enabled_times"]))
    print("  disabled s:", " ".join(f"{x:.3f}" for x in t["disabled_times"]))
    m = asyncio.run(memory(args.executions))
    for name in ("enabled", "disabled"):
        a, b = m[name]
        print(f"memory ({name}): RSS after 100 executions {a / 2**20:.1f} MiB, after "
              f"{m['executions']} {b / 2**20:.1f} MiB, growth {(b - a) / 2**20:+.1f} MiB")


if __name__ == "__main__":
    main()
