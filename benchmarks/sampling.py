"""What resource sampling and following idle kernels cost the server, in
server CPU (% of one core) over a quiet window, rounds alternating:

* idle kernels at two counts (10 and 50 by default), the extension as
  shipped vs disabled, both servers up side by side with their kernels and
  measured in turns: what the extension adds per idle kernel at each count
  (the median of the rounds' differences, over the count). The cost of
  following a kernel should not grow with the number of kernels: at 50 it
  should be within twice that at 10;
* 30 idle and 5 busy kernels: the extension as shipped (busy kernels sampled
  every 0.5 s, each kernel's timeline kept, every execution's memory read at
  its start and end), with the faster busy sampling off, with sampling off,
  and the extension disabled (servers one at a time);
* 10 idle kernels on a quiet host, then with 2,000 more processes on it (a
  shared host's other users): the sampler follows the kernels' own process
  trees, so its cost should not grow with the host's process table.

    .venv/bin/python benchmarks/sampling.py [--rounds 2] [--seconds 30]
        [--parts idle mix host] [--counts 10 50]

Writes the "sampling" section of RESULTS.md (every part run); with
`--parts` naming fewer, prints the rows only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

import psutil
from run import settled

from harness import Client, Server, idle_kernels, machine, update_results

MIXES = [
    ("as shipped (busy kernels every 0.5 s)", True, []),
    ("busy sampling off", True, ["--MemoryWatch.busy_sampling_interval=0"]),
    ("sampling off", True, ["--SessionRegistry.resource_sampling_interval=0"]),
    ("extension disabled", False, []),
]


def cpu_seconds(server: Server) -> float:
    times = psutil.Process(server.proc.pid).cpu_times()
    return times.user + times.system


async def window(server: Server, seconds: float) -> float:
    await settled(120)
    before = cpu_seconds(server)
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds(server) - before) / seconds


async def busy_mix(label: str, enabled: bool, args: list[str], seconds: float) -> float:
    server = Server(enabled, args)
    clients = []
    try:
        ids = await idle_kernels(server, 35)
        for kernel_id in ids[:5]:
            client = await Client.open(server, kernel_id)
            client.send("import time; time.sleep(3600)")
            clients.append(client)
        return await window(server, seconds)
    finally:
        for client in clients:
            client.close()
        server.stop()


async def crowded_host(enabled: bool, seconds: float, extra: int) -> tuple[float, float]:
    """(quiet, with `extra` more processes on the host), of one server."""
    server = Server(enabled, [])
    others: list[subprocess.Popen[bytes]] = []
    try:
        await idle_kernels(server, 10)
        quiet = await window(server, seconds)
        others = [subprocess.Popen(["sleep", "3600"]) for _ in range(extra)]
        crowded = await window(server, seconds)
        return quiet, crowded
    finally:
        for proc in others:
            proc.kill()
        for proc in others:
            proc.wait()
        server.stop()


async def idle_scale(count: int, rounds: int, seconds: float) -> dict[bool, list[float]]:
    """% of a core of the server with the extension and of one without, each
    with `count` idle kernels, both up at once and measured in turns (the
    other's kernels idle meanwhile, the same for both)."""
    servers = {True: Server(True), False: Server(False)}
    spent: dict[bool, list[float]] = {True: [], False: []}
    try:
        for server in servers.values():
            await idle_kernels(server, count)
        await settled(120)
        for r in range(rounds):
            for enabled in (True, False) if r % 2 == 0 else (False, True):
                before = cpu_seconds(servers[enabled])
                await asyncio.sleep(seconds)
                spent[enabled].append(100 * (cpu_seconds(servers[enabled]) - before) / seconds)
            print(
                f"{count} idle kernels, round {r + 1}: on {spent[True][-1]:.2f}%, "
                f"disabled {spent[False][-1]:.2f}%",
                flush=True,
            )
    finally:
        for server in servers.values():
            server.stop()
    return spent


def idle_rows(idle: dict[int, dict[bool, list[float]]], rounds: int) -> list[str]:
    med = statistics.median
    lines = [
        f"| idle kernels (median of {rounds} rounds) | extension on | disabled "
        "| added (median of the rounds' differences) | added per kernel |",
        "|---|---|---|---|---|",
    ]
    per: dict[int, float] = {}
    for count, spent in idle.items():
        added = med(on - off for on, off in zip(spent[True], spent[False], strict=True))
        per[count] = added / count
        lines.append(
            f"| {count} | {med(spent[True]):.2f}% | {med(spent[False]):.2f}% | {added:+.2f} "
            f"| {per[count]:+.3f} |"
        )
    low, high = min(per), max(per)
    if low != high and per[low] > 0:
        lines += [
            "",
            f"Added per kernel at {high} kernels / at {low}: {per[high] / per[low]:.2f}x "
            "(target: at most 2x).",
        ]
    return lines


async def main(
    rounds: int, seconds: float, extra: int, parts: list[str], counts: list[int]
) -> None:
    lines = [
        "## Resource sampling: what it costs the server",
        "",
        f"`benchmarks/sampling.py --rounds {rounds} --seconds {seconds:.0f}`, "
        f"{time.strftime('%Y-%m-%d')} on {machine()}. Server CPU (% of one core) "
        f"over {seconds:.0f} s, median of {rounds} rounds (order alternating).",
    ]
    if "idle" in parts:
        idle = {count: await idle_scale(count, rounds, seconds) for count in counts}
        lines += ["", *idle_rows(idle, rounds)]
    if "mix" in parts or "host" in parts:
        lines += ["", *(await mixes(rounds, seconds, extra, parts))]
    print("\n".join(lines))
    if set(parts) >= {"idle", "mix", "host"}:
        update_results("sampling", "\n".join(lines))


async def mixes(rounds: int, seconds: float, extra: int, parts: list[str]) -> list[str]:
    """The busy mix's and the crowded host's rows (servers one at a time)."""
    mix: dict[str, list[float]] = {label: [] for label, _, _ in MIXES}
    host: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for r in range(rounds):
        if "mix" in parts:
            order = MIXES if r % 2 == 0 else MIXES[::-1]
            for label, enabled, args in order:
                mix[label].append(await busy_mix(label, enabled, args, seconds))
                print(f"round {r + 1}: {label}: {mix[label][-1]:.2f}%", flush=True)
        if "host" in parts:
            for enabled in (True, False) if r % 2 == 0 else (False, True):
                host[enabled].append(await crowded_host(enabled, seconds, extra))
                print(f"round {r + 1}: host, extension {enabled}: {host[enabled][-1]}", flush=True)

    med = statistics.median
    lines = ["| server CPU (servers one at a time) | % of one core |", "|---|---|"]
    if "mix" in parts:
        off = med(mix["extension disabled"])
        for label, _, _ in MIXES:
            value = med(mix[label])
            added = "" if label == "extension disabled" else f" (+{value - off:.2f} over disabled)"
            lines.append(f"| 30 idle + 5 busy kernels, {label} | {value:.2f}%{added} |")
    if "host" in parts:
        quiet_on = med(q for q, _ in host[True])
        crowded_on = med(c for _, c in host[True])
        quiet_off = med(q for q, _ in host[False])
        crowded_off = med(c for _, c in host[False])
        lines += [
            f"| 10 idle kernels, quiet host: extension on / disabled | "
            f"{quiet_on:.2f}% / {quiet_off:.2f}% (added {quiet_on - quiet_off:+.2f}) |",
            f"| 10 idle kernels, host with {extra:,} more processes: extension on / disabled | "
            f"{crowded_on:.2f}% / {crowded_off:.2f}% (added {crowded_on - crowded_off:+.2f}) |",
        ]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--host-processes", type=int, default=2000)
    parser.add_argument(
        "--parts", nargs="+", choices=["idle", "mix", "host"], default=["idle", "mix", "host"]
    )
    parser.add_argument("--counts", nargs="+", type=int, default=[10, 50], help="idle kernels")
    options = parser.parse_args()
    asyncio.run(
        main(
            options.rounds,
            options.seconds,
            options.host_processes,
            options.parts,
            options.counts,
        )
    )
