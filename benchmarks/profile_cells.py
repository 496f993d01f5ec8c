"""Where a server's CPU goes under the load of `run.py --cpu-only`: py-spy
on a real `jupyter server` while one websocket client sends it pipelined
`pass` cells, the extension on and then off, and a summary of each profile.

    .venv/bin/pip install py-spy   # not a dependency: only this script uses it
    .venv/bin/python benchmarks/profile_cells.py [--cells 10000] [--rate 250] [--keep DIR]
    .venv/bin/python benchmarks/profile_cells.py --idle 50 [--seconds 60]

py-spy samples every thread of the server (`--idle` left off: a thread
waiting in epoll or on a lock is not counted), so the samples are time the
server's threads were running or ready to run; a sample whose innermost
frame is a line that waits (select, a queue's get, a lock) is a thread
woken and waiting for a core, and is left out. Each function's share of the
samples is turned into milliseconds of the server's CPU (psutil, over the
same cells). For each profile it prints
the samples per 1,000 cells, the functions with the most samples of their
own ("self") and, for the extension, each of its functions that the
samples pass through, counting what it calls in other packages (the
innermost frame of ours on each stack: "ours, inclusive").

With `--idle N`: the same for a server whose N kernels sit idle, over
`--seconds` (per minute instead of per 1,000 cells).

The raw profiles (py-spy's `-f raw`, one stack a line) are kept with
`--keep DIR`; `py-spy record -f speedscope` or `-f flamegraph` on the same
load gives pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import linecache
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from run import settled  # noqa: E402

from harness import Client, Server, idle_kernels  # noqa: E402

OURS = "jupyter_session_ext/"


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def record(pid: int, rate: int, out: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [py_spy(), "record", "-p", str(pid), "-r", str(rate), "-f", "raw", "--full-filenames"]
        + ["--nonblocking"]
        + ["-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # attached and sampling before the load begins
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    proc.wait(60)


def stacks(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw output: `frame;frame;... count`, outermost first."""
    out = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            out.append((stack.split(";"), int(count)))
    return out


def where(frame: str) -> str:
    """`function (/path/to/file.py:line)` -> `file.py:function`, the path
    from the package on (site-packages, the standard library, ours)."""
    name, _, path = frame.partition(" (")
    path = path.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "lib/python3.12/", "lib/python3.10/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if OURS in path:
            path = OURS + path.split(OURS, 1)[1]
    return f"{path}:{name}"


# A frame on a line that calls one of these waits in C: when py-spy counts it
# (the thread was woken and waits for a core), it is not CPU spent there.
WAITS = ("select(", ".get(", ".get_nowait(", ".wait(", ".acquire(", ".join(", "poll(")


def waiting(frame: str) -> bool:
    path, _, line = frame.partition(" (")[2].rstrip(")").rpartition(":")
    try:
        text = linecache.getline(path, int(line))
    except ValueError:
        return False
    return any(call in text for call in WAITS)


def ours_innermost(frames: list[str]) -> str | None:
    """The innermost frame of the extension on a stack, unless it only wraps
    the server's own method of the same name (our websocket connection
    class calls its base's `handle_outgoing_message`): what runs below
    that is the server's job, done as without the extension."""
    for i in range(len(frames) - 1, -1, -1):
        if OURS not in frames[i]:
            continue
        below = frames[i + 1] if i + 1 < len(frames) else None
        method = where(frames[i]).rsplit(".", 1)[-1]
        if below is not None and where(below).rsplit(".", 1)[-1] == method:
            return None
        return where(frames[i])
    return None


@dataclass
class Profile:
    samples: int
    cpu: float  # the server's CPU seconds over the profile
    own: collections.Counter[str]  # self samples per function
    ours: collections.Counter[str]  # samples per innermost function of ours

    def ms(self, n: int, per: float) -> float:
        """Milliseconds of server CPU that `n` samples stand for, per `per` units."""
        return 1000 * self.cpu * n / max(self.samples, 1) / per


def read_profile(path: Path, cpu: float) -> Profile:
    own: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, n in stacks(path):
        if waiting(frames[-1]):
            continue
        total += n
        own[where(frames[-1])] += n
        mine = ours_innermost(frames)
        if mine is not None:
            ours[mine] += n
    return Profile(total, cpu, own, ours)


def summary(p: Profile, per: float, unit: str, top: int = 25) -> list[str]:
    touched = sum(p.ours.values())
    lines = [
        f"{p.samples} samples, server CPU {1000 * p.cpu / per:.0f} ms per {unit}; "
        f"samples in the extension's own code and what it calls: {touched / max(p.samples, 1):.1%}",
        f"  self (the function running): % of samples, ms of CPU per {unit}",
    ]
    lines += [
        f"    {n / p.samples:6.1%} {p.ms(n, per):7.1f}  {name}"
        for name, n in p.own.most_common(top)
    ]
    if p.ours:
        lines.append(
            "  the extension, by its innermost function on each stack (what it calls included):"
        )
        lines += [
            f"    {n / p.samples:6.1%} {p.ms(n, per):7.1f}  {name}"
            for name, n in p.ours.most_common(top)
        ]
    return lines


def difference(on: Profile, off: Profile, per: float, unit: str, top: int = 25) -> list[str]:
    """Self time per function, on minus off, in ms of CPU per `unit`."""
    names = set(on.own) | set(off.own)
    delta = {n: on.ms(on.own[n], per) - off.ms(off.own[n], per) for n in names}
    lines = [f"  on - off, self time, ms of CPU per {unit} (on, off):"]
    for name in sorted(names, key=lambda n: -abs(delta[n]))[:top]:
        lines.append(
            f"    {delta[name]:+7.1f}  {name} ({on.ms(on.own[name], per):.1f}, "
            f"{off.ms(off.own[name], per):.1f})"
        )
    return lines


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def cells_profile(enabled: bool, cells: int, rate: int, out: Path) -> Profile:
    server = Server(enabled)
    try:
        client = await Client.open(server, server.start_kernel())
        await client.run(["pass"] * 1000)  # warm: the history full, the caches too
        await settled()
        spy = record(server.proc.pid, rate, out)
        try:
            before = cpu_seconds(server.proc.pid)
            took = 0.0
            for done in range(0, cells, 1000):
                # In batches: past about a thousand requests in flight, ZMQ's
                # high-water marks drop replies, and the client would wait on.
                took += await client.run(["pass"] * min(1000, cells - done))
            cpu = cpu_seconds(server.proc.pid) - before
        finally:
            stop(spy)
        print(f"  ({cells:,} cells in {took:.1f} s)", file=sys.stderr, flush=True)
        client.close()
    finally:
        server.stop()
    return read_profile(out, cpu)


async def idle_profile(
    enabled: bool, kernels: int, seconds: float, rate: int, out: Path
) -> list[str]:
    server = Server(enabled)
    try:
        await idle_kernels(server, kernels)
        await settled(120)
        spy = record(server.proc.pid, rate, out)
        before = cpu_seconds(server.proc.pid)
        await asyncio.sleep(seconds)
        cpu = cpu_seconds(server.proc.pid) - before
        stop(spy)
    finally:
        server.stop()
    return read_profile(out, cpu)


async def main(cells: int, rate: int, keep: Path | None, idle: int, seconds: float) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="profile-cells-"))
    folder.mkdir(parents=True, exist_ok=True)
    per, unit = (seconds / 60, "minute") if idle else (cells / 1000, "1,000 cells")
    profiles = {}
    for enabled in (True, False):
        name = "on" if enabled else "off"
        if idle:
            out = folder / f"idle-{idle}-{name}.txt"
            p = await idle_profile(enabled, idle, seconds, rate, out)
            head = f"extension {name}, {idle} idle kernels, {seconds:.0f} s at {rate} Hz"
        else:
            out = folder / f"cells-{name}.txt"
            p = await cells_profile(enabled, cells, rate, out)
            head = f"extension {name}, {cells:,} pipelined cells at {rate} Hz"
        profiles[enabled] = p
        lines = summary(p, per, unit)
        print(f"\n{head}: {lines[0]}")
        print("\n".join(lines[1:]), flush=True)
    print()
    print("\n".join(difference(profiles[True], profiles[False], per, unit)))
    print(f"\nraw profiles in {folder}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10000)
    parser.add_argument("--rate", type=int, default=250, help="samples a second")
    parser.add_argument("--keep", type=Path, help="a folder for the raw profiles")
    parser.add_argument("--idle", type=int, default=0, help="kernels sitting idle instead")
    parser.add_argument("--seconds", type=float, default=60)
    options = parser.parse_args()
    asyncio.run(main(options.cells, options.rate, options.keep, options.idle, options.seconds))
