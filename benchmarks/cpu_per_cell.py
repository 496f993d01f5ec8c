"""Server CPU per cell, extension on vs off, steady enough to steer by on a
shared machine: what `run.py --cpu-only` prints (and `run.py` writes).

Every configuration is its own `jupyter server` subprocess with one kernel
and one websocket client, all started at once. A round sends each server
`cells` pipelined `pass` cells (up to 250 waiting for their reply at once),
in 4 turns of a quarter of them, one server after the other, and takes the
server process's CPU seconds over them (psutil: user + system of its own
threads; its kernel and other children excluded). The two servers of a row
take their turns next to each other, every other turn in the reverse order.
What is compared is the ratio of two servers' CPU within one round: both
ran in the same half minute, under about the same load from the rest of the
machine, which on a shared machine moves what a cell costs by tens of
percent from one minute to the next. Over the rounds: the median of those
ratios, their spread (quartiles, min and max) and a 95% confidence interval
of the median (distribution-free: order statistics of the binomial).

The control row compares two servers of the same configuration (stock,
twice): what it shows is the run's noise floor, which a difference between
on and off must stand clear of to mean anything.

The agents row (`--also agent`) is a server as shipped whose batches an
agent watches over MCP as an agent does: it calls `wait_for_idle` on the
kernel as soon as the cells are sent and again whenever a wait returns
before they are all done (the wait is woken by every change of the kernel).

    .venv/bin/python benchmarks/run.py --cpu-only [--rounds 20] [--cells 1000] [--also nodelay store agent]
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import psutil
from tornado.httpclient import AsyncHTTPClient

from harness import Client, Server

CAPTURE_OFF = ["--KernelOutput.capture=False"]
NODELAY_OFF = ["--SessionRegistry.tcp_nodelay=False"]
STORE_OFF = ["--SessionStore.path="]
# Cells waiting for their reply at most, in a round.
WINDOW = 250
# Turns a round takes, its cells split between them: the servers of a row
# alternate every few seconds rather than every half minute, so that more of
# the machine's ups and downs fall on both (the control row's spread
# narrowed by a fifth, 4 turns against 1).
SLICES = 4

# name -> (extension enabled, its arguments)
SERVERS: dict[str, tuple[bool, list[str]]] = {
    "on": (True, []),
    "off": (False, []),
    "off again": (False, []),
    "capture off": (True, CAPTURE_OFF),
    "nodelay off": (True, NODELAY_OFF),
    "store off": (True, STORE_OFF),
    "agent": (True, []),  # as "on", its batches watched by an agent (`watched`)
}
# The servers whose batches an agent watches over MCP.
WATCHED = {"agent"}
# Waits the agent made, per kernel (printed with the progress).
WAITS: dict[str, int] = {}


@dataclass(frozen=True)
class Row:
    label: str
    measured: str  # a key of SERVERS
    baseline: str
    target: str = ""


ROWS = [
    Row("as shipped: extension on vs off", "on", "off", "<= +2%"),
    Row("control: off vs off again (same configuration twice)", "off again", "off", "noise"),
    Row("kernel output capture (last words): on vs off, extension on", "on", "capture off"),
]
# Rows measured only when asked for (`--also`): each adds a server to every round.
OPTIONAL_ROWS = {
    "nodelay": Row("TCP_NODELAY: on vs off, extension on", "on", "nodelay off"),
    "store": Row("the store: on vs off, extension on", "on", "store off"),
    "agent": Row("agents (MCP): an agent waiting on the kernel vs none", "agent", "on"),
}


def order(names: list[str], turn: int) -> list[str]:
    """The servers' order in a turn: as listed, every other turn reversed.
    Listed so that the two servers of a row follow each other (`chain`):
    each ratio is of runs next to each other in time, and each server of a
    pair goes first in half the turns."""
    return names[::-1] if turn % 2 else names


def chain(rows: list[Row]) -> list[str]:
    """The servers of `rows` in an order where the default rows' pairs are
    neighbours (capture off, on, off, off again); the optional rows'
    baselines come first."""
    names = ["capture off", "on", "off", "off again"]
    for row in rows:
        for name in (row.measured, row.baseline):
            if name not in names:
                names.insert(0, name)
    return names


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()  # the process's own threads; children apart
    return times.user + times.system


Settle = Callable[[], Awaitable[None]]


def start(enabled: bool, args: list[str], tries: int = 3) -> Server:
    """A server, tried again if its port was taken meanwhile: on a shared
    machine another process can bind the free port before the server does."""
    for attempt in range(tries):
        try:
            return Server(enabled, args)
        except Exception:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


async def measure(
    names: list[str],
    rounds: int,
    cells: int,
    settle: Settle | None = None,
    slices: int = SLICES,
) -> dict[str, list[float]]:
    """CPU seconds of each named server per round (after one warm-up round,
    not kept: the first cells fill the history and the caches). A round is
    `slices` turns of `cells / slices` cells per server. One server at a
    time: servers taking cells at once contend with each other, which
    changes what each costs (more messages per wake-up, and TCP_NODELAY's
    packets pile up), so that it no longer measures one server's load."""
    started: dict[str, Server] = {}
    if WATCHED & set(names):
        with_sdk()
    try:
        for name in names:
            started[name] = start(*SERVERS[name])
        kernels = {n: s.start_kernel() for n, s in started.items()}
        clients = {n: await Client.open(s, kernels[n]) for n, s in started.items()}
        procs = {n: psutil.Process(s.proc.pid) for n, s in started.items()}
        if settle is not None:
            await settle()  # kernels done starting: the rounds measure cells
        spent: dict[str, list[float]] = {n: [] for n in names}

        async def batch(name: str, n: int) -> float:
            before = cpu_seconds(procs[name])
            # At most WINDOW cells waiting: all 1,000 at once, a server slowed
            # down by the machine lets ZMQ drop replies past its high-water mark.
            cells = clients[name].run(["pass"] * n, window=WINDOW, stall=120, until_idle=True)
            if name in WATCHED:
                await watched(started[name], kernels[name], cells)
            else:
                await cells
            return cpu_seconds(procs[name]) - before

        for r in range(-1, rounds):
            used = dict.fromkeys(names, 0.0)
            for k in range(slices):
                share = cells // slices + (k < cells % slices)
                for name in order(names, r * slices + k):
                    used[name] += await batch(name, share)
            if r >= 0:
                for name, seconds in used.items():
                    spent[name].append(seconds)
                progress(r, rounds, spent)
        for client in clients.values():
            client.close()
        return spent
    finally:
        for server in started.values():
            server.stop()


def with_sdk() -> None:
    """The servers started from now on find the MCP SDK (the `mcp` extra,
    which the test venv leaves to a peer venv of its own): all of them, so
    that the rows compare servers that differ in nothing else."""
    from peer_venv import MCP, peer_site

    found = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([*([found] if found else []), peer_site("mcp", MCP)])


async def watched(server: Server, kernel_id: str, cells: Awaitable[float]) -> None:
    """`cells` run while an agent waits on the kernel over MCP (raw JSON-RPC,
    as the SDK sends it): a `wait_for_idle` at once, and again after any that
    returns before the cells are done."""
    running = asyncio.ensure_future(cells)
    http = AsyncHTTPClient()
    request = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "wait_for_idle",
                "arguments": {"kernel": kernel_id, "timeout_seconds": 60},
            },
        }
    )
    while not running.done():
        answer = await http.fetch(
            server.url + "api/active-sessions/mcp",
            method="POST",
            body=request,
            headers={
                **server.auth,
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
            request_timeout=120,
        )
        assert b'"result"' in answer.body, answer.body[:300]
        WAITS[kernel_id] = WAITS.get(kernel_id, 0) + 1
        await asyncio.sleep(0.01)  # (an idle between two windows of cells)
    await running


def progress(r: int, rounds: int, spent: dict[str, list[float]]) -> None:
    figures = ", ".join(f"{name} {seconds[-1]:.3f} s" for name, seconds in spent.items())
    if WAITS:
        figures += f" (the agent's waits so far: {sum(WAITS.values())})"
    print(f"round {r + 1}/{rounds}: {figures}", file=sys.stderr, flush=True)


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: the k-th smallest and
    k-th largest values, k the largest with P(Binomial(n, 1/2) < k) <= alpha/2."""
    ordered = sorted(values)
    n = len(ordered)
    tail, k = 0.0, 0
    while k < n // 2:
        tail += math.comb(n, k) / 2**n
        if tail > (1 - confidence) / 2:
            break
        k += 1
    if k == 0:
        return ordered[0], ordered[-1]  # too few rounds for that confidence
    return ordered[k - 1], ordered[n - k]


@dataclass(frozen=True)
class Figures:
    row: Row
    measured: float  # median CPU seconds per round
    baseline: float
    ratios: list[float]  # per round, measured / baseline

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def quartiles(self) -> tuple[float, float]:
        q = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def interval(self) -> tuple[float, float]:
        return median_interval(self.ratios)


def figures(row: Row, spent: dict[str, list[float]]) -> Figures:
    measured, baseline = spent[row.measured], spent[row.baseline]
    return Figures(
        row,
        statistics.median(measured),
        statistics.median(baseline),
        [m / b for m, b in zip(measured, baseline, strict=True)],
    )


async def run(
    rounds: int,
    cells: int,
    also: Sequence[str] = (),
    settle: Settle | None = None,
    slices: int = SLICES,
) -> list[Figures]:
    rows = ROWS + [OPTIONAL_ROWS[a] for a in also]
    spent = await measure(chain(rows), rounds, cells, settle, slices)
    return [figures(row, spent) for row in rows]


def pct(ratio: float) -> str:
    return f"{ratio - 1:+.1%}"


def table(results: list[Figures], rounds: int, cells: int) -> list[str]:
    lines = [
        f"| server CPU per {cells:,} pipelined cells ({rounds} rounds of {SLICES} turns) "
        "| measured, median | baseline, median | added: median of the rounds' ratios "
        "| spread: quartiles, min to max | 95% CI of the median | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in results:
        q1, q3 = f.quartiles
        lo, hi = f.interval
        lines.append(
            f"| {f.row.label} | {f.measured:.3f} s | {f.baseline:.3f} s | {pct(f.median)} "
            f"| {pct(q1)} to {pct(q3)}; {pct(min(f.ratios))} to {pct(max(f.ratios))} "
            f"| {pct(lo)} to {pct(hi)} | {f.row.target} |"
        )
    return lines


def rounds_detail(results: list[Figures]) -> list[str]:
    return [f"  {f.row.label}: " + ", ".join(pct(r) for r in f.ratios) for f in results]
