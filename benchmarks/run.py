"""The cost and the correctness of jupyter_session_ext under load, measured
side by side in one run, against real `jupyter server` subprocesses and real
kernels. Not a pass/fail test: it prints a table and writes it, with the
machine and the date, to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run.py [--quick] [--list-only] [--cpu-only]
                                       [--memory-only] [--scale-only]

1. throughput: 1,000 trivial cells sent at once over one websocket, extension
   enabled vs disabled, alternating rounds (target ratio >= 0.97);
2. latency: execute_request -> execute_reply round trips, p50/p99, on/off;
3. list latency: GET api/active-sessions vs GET api/kernels with 1, 10, 50
   kernels (target <= 1.5x);
4. event latency: a kernel's busy status (as the client sees it) to the
   extension's event on /api/events/subscribe (target p50 < 50 ms);
5. memory: server RSS after 100 and after 10,000 executions (on and off), and
   the per-session overhead (RSS with 10 kernels, on minus off, per kernel);
6. burst: 50 cells sent at once to each of 10 kernels; at every poll the queue
   must list only sent requests, in the order sent, and end empty;
7. server CPU: the server process's CPU seconds per 1,000 pipelined cells,
   on vs off, with a control row (off vs off) and the kernel output capture's
   part, in interleaved rounds (cpu_per_cell.py; target: the extension adds
   at most 2%);
8. scale (--scale-only, its own section): server CPU while 50 kernels sit
   idle, resource sampling on / off / extension disabled (target < 1% of a
   core), and the list at 100 kernels.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).parent))
import cpu_per_cell  # noqa: E402

from harness import Client, Server, machine, servers, update_results  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def throughput(on: Server, off: Server, rounds: int, cells: int) -> dict:
    clients = {s.enabled: await Client.open(s, s.start_kernel()) for s in (on, off)}
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for enabled in (True, False) if r % 2 == 0 else (False, True):
            times[enabled].append(await clients[enabled].run(["pass"] * cells))
    lat: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for enabled in (True, False) if r % 2 == 0 else (False, True):
            lat[enabled] += await clients[enabled].round_trips(100)
    for c in clients.values():
        c.close()
    on_s, off_s = statistics.median(times[True]), statistics.median(times[False])
    return {
        "on_cps": cells / on_s,
        "off_cps": cells / off_s,
        "ratio": off_s / on_s,
        "p50": (pct(lat[True], 50) * 1e3, pct(lat[False], 50) * 1e3),
        "p99": (pct(lat[True], 99) * 1e3, pct(lat[False], 99) * 1e3),
    }


async def timed_gets(server: Server, paths: list[str], n: int) -> list[float]:
    """Median seconds of GET for each path, the paths taking turns."""
    http = AsyncHTTPClient()
    req = server.http_request
    samples: dict[str, list[float]] = {p: [] for p in paths}
    for path in paths:
        await http.fetch(req(path))
    for _ in range(n):
        for path in paths:
            start = time.perf_counter()
            await http.fetch(req(path))
            samples[path].append(time.perf_counter() - start)
    return [statistics.median(samples[p]) for p in paths]


async def settled(deadline: float = 60) -> None:
    """Until freshly started kernels have stopped loading (machine CPU below
    a third over one second), so the rows measure requests, not start-ups."""
    import psutil

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if await asyncio.to_thread(psutil.cpu_percent, 1.0) < 33:
            return


async def list_latency(counts: list[int]) -> list[tuple[int, float, float]]:
    """On a server of its own, so each row has exactly `count` kernels."""
    rows = []
    with servers(True) as (on,):
        started = 0
        for count in counts:
            while started < count:
                on.start_kernel()
                started += 1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until every kernel has answered kernel_info
                sessions = on.get("api/active-sessions")["sessions"]
                if all(s["kernel_info"] for s in sessions):
                    break
                await asyncio.sleep(0.2)
            await settled()
            ours, theirs = await timed_gets(on, ["api/active-sessions", "api/kernels"], 200)
            rows.append((count, ours * 1e3, theirs * 1e3))
    return rows


async def event_latency(on: Server, samples: int) -> dict:
    kernel_id = on.start_kernel()
    client = await Client.open(on, kernel_id)
    events = await websocket_connect(on.http_request("api/events/subscribe", websocket=True))
    delays: list[float] = []
    missed = 0

    async def busy_seen(msg_id: str) -> float:
        while True:
            msg = json.loads(await client.ws.read_message())
            if (
                msg["header"]["msg_type"] == "status"
                and msg["parent_header"].get("msg_id") == msg_id
                and msg["content"]["execution_state"] == "busy"
            ):
                return time.perf_counter()

    async def busy_event() -> float:
        while True:
            msg = json.loads(await events.read_message())
            if msg.get("session_id") == kernel_id and msg.get("status") == "busy":
                return time.perf_counter()

    for _ in range(samples):
        msg_id = client.send("import time; time.sleep(0.05)")
        try:
            # Both streams are read at once, so neither arrival waits on the other.
            busy_at, event_at = await asyncio.wait_for(
                asyncio.gather(busy_seen(msg_id), busy_event()), 10
            )
            delays.append(max(0.0, event_at - busy_at))
        except asyncio.TimeoutError:
            missed += 1  # no event ever said "busy" for this execution
        while True:  # let the kernel finish
            msg = json.loads(await client.ws.read_message())
            if (
                msg["header"]["msg_type"] == "execute_reply"
                and msg["parent_header"]["msg_id"] == msg_id
            ):
                break
        # A quiet kernel turning busy is the case measured: let the session's
        # event budget refill, and drop the events of the idle transition.
        await asyncio.sleep(0.5)
        while True:
            try:
                await asyncio.wait_for(events.read_message(), 0.05)
            except asyncio.TimeoutError:
                break
    events.close()
    client.close()
    return {
        "p50": pct(delays, 50) * 1e3 if delays else float("nan"),
        "p99": pct(delays, 99) * 1e3 if delays else float("nan"),
        "n": samples,
        "missed": missed,
    }


async def memory(on: Server, off: Server, executions: int) -> dict:
    out = {}
    for server in (on, off):
        client = await Client.open(server, server.start_kernel())
        await client.run(["pass"] * 99)
        first = server.rss()
        done = 100
        while done < executions:
            batch = min(1000, executions - done)
            # Each its own cell: execution history and per-cell durations fill
            # to their caps (history_length, ExecutionHistory.MIN_CELLS).
            await client.run(["x = 1"] * batch, [f"cell-{done + i}" for i in range(batch)])
            done += batch
        out[server.enabled] = (first, server.rss())
        client.close()
    return out


async def idle_cpu(kernels: int, seconds: float) -> list[tuple[str, float]]:
    """% of one core the server process spends while `kernels` kernels sit
    idle, over `seconds`: the extension with resource sampling on (default
    interval), with it off, and the extension disabled. One server at a time,
    so the kernels of one do not load the machine under another."""
    import psutil

    rows = []
    variants = [
        ("extension on, resource sampling every 5 s (default)", True, []),
        (
            "extension on, resource sampling off",
            True,
            ["--SessionRegistry.resource_sampling_interval=0"],
        ),
        ("extension disabled", False, []),
    ]
    for label, enabled, args in variants:
        server = Server(enabled, args)
        try:
            for _ in range(kernels):
                server.start_kernel()
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:  # every kernel up and quiet
                listed = server.get("api/kernels")
                if len(listed) == kernels and all(k["execution_state"] == "idle" for k in listed):
                    break
                await asyncio.sleep(1)
            await settled(120)
            proc = psutil.Process(server.proc.pid)
            before = proc.cpu_times()
            await asyncio.sleep(seconds)  # the measured window itself
            after = proc.cpu_times()
            used = (after.user + after.system) - (before.user + before.system)
            rows.append((label, 100 * used / seconds))
        finally:
            server.stop()
    return rows


def idle_rows(rows: list[tuple[str, float]], kernels: int, seconds: float) -> list[str]:
    return [
        f"| server CPU, {kernels} idle kernels, {seconds:.0f} s: {label} | {pct:.2f}% of one core "
        "| | | < 1% |"
        for label, pct in rows
    ]


async def per_session_overhead(kernels: int) -> float:
    with servers(True, False) as (on, off):
        base = {s.enabled: s.rss() for s in (on, off)}
        for server in (on, off):
            for _ in range(kernels):
                server.start_kernel()
        await asyncio.sleep(3)
        grown = {s.enabled: s.rss() - base[s.enabled] for s in (on, off)}
    return (grown[True] - grown[False]) / kernels


async def burst(on: Server, kernels: int, cells: int) -> dict:
    ids = [on.start_kernel() for _ in range(kernels)]
    clients = [await Client.open(on, k) for k in ids]
    sent: dict[str, list[str]] = {}
    for kernel_id, client in zip(ids, clients, strict=True):
        sent[kernel_id] = [
            client.send(f"import time; time.sleep(0.01); x = {i}") for i in range(cells)
        ]
    polls = violations = 0
    max_seen = 0

    async def drain(client: Client, expected: int) -> None:
        replies = 0
        while replies < expected:
            msg = json.loads(await client.ws.read_message())
            replies += msg["header"]["msg_type"] == "execute_reply"

    drains = asyncio.gather(*(drain(c, cells) for c in clients))
    http = AsyncHTTPClient()
    while not drains.done():
        resp = await http.fetch(on.http_request("api/active-sessions"))
        polls += 1
        for s in json.loads(resp.body)["sessions"]:
            if s["session_id"] not in sent:
                continue
            order = sent[s["session_id"]]
            queue = s["execution_queue"]
            pending = [p["msg_id"] for p in queue["pending"]]
            max_seen = max(max_seen, queue["length"])
            positions = [order.index(m) if m in order else -1 for m in pending]
            active = queue["active"]["msg_id"] if queue["active"] else None
            ok = (
                queue["length"] == len(pending)
                and -1 not in positions
                and positions == sorted(positions)
                and (active is None or active in order)
                and (active is None or not positions or order.index(active) < positions[0])
            )
            violations += not ok
        await asyncio.sleep(0.05)
    await drains
    final = json.loads((await http.fetch(on.http_request("api/active-sessions"))).body)
    leftover = sum(
        s["execution_queue"]["length"] + (s["execution_queue"]["active"] is not None)
        for s in final["sessions"]
        if s["session_id"] in sent
    )
    for c in clients:
        c.close()
    return {"polls": polls, "violations": violations, "max_pending": max_seen, "leftover": leftover}


def progress(label: str, began: float) -> None:
    # The full run takes minutes; say where it is, so a stall is visible.
    print(f"[{time.perf_counter() - began:6.1f} s] {label}", file=sys.stderr, flush=True)


def memory_row(m: dict, executions: int) -> str:
    mib = lambda x: x / 2**20  # noqa: E731
    return (
        f"| server RSS, 100 -> {executions:,} executions (each its own cell) "
        f"| {mib(m[True][0]):.1f} -> {mib(m[True][1]):.1f} MiB "
        f"| {mib(m[False][0]):.1f} -> {mib(m[False][1]):.1f} MiB | growth on "
        f"{mib(m[True][1] - m[True][0]):+.1f}, off {mib(m[False][1] - m[False][0]):+.1f} MiB "
        "| no growth beyond noise |"
    )


async def main(
    quick: bool,
    only_list: bool,
    only_cpu: bool = False,
    only_memory: bool = False,
    only_idle: bool = False,
    cpu_rounds: int = 20,
    cpu_cells: int = 1000,
    also: tuple[str, ...] = (),
) -> None:
    if only_idle:  # idle CPU at 50 kernels and the list at 100: the "scale" section
        began = time.perf_counter()
        idle = await idle_cpu(50, 60)
        progress("list latency at 100 kernels", began)
        lists = await list_latency([100])
        lines = [
            f"Measured {datetime.date.today().isoformat()} on {machine()} by "
            "`benchmarks/run.py --scale-only`.\n",
            "| measure | figure | | | target |",
            "|---|---|---|---|---|",
            *idle_rows(idle, 50, 60),
            *(
                f"| GET api/active-sessions vs GET api/kernels, {count} kernels (median) "
                f"| {ours:.2f} ms vs {theirs:.2f} ms | | {ours / theirs:.2f}x | <= 1.2x |"
                for count, ours, theirs in lists
            ),
            "",
        ]
        text = "\n".join(lines)
        print(text)
        update_results("scale", text)
        return
    if only_memory:  # the memory row alone, printed, RESULTS.md untouched
        with servers(True, False) as (on, off):
            print(memory_row(await memory(on, off, 10_000), 10_000))
        return
    if only_cpu:  # for steering by the server's CPU: print the rows, write nothing
        results = await cpu_per_cell.run(cpu_rounds, cpu_cells, also, settled)
        print("\n".join(cpu_per_cell.table(results, cpu_rounds, cpu_cells)))
        print("per round (measured / baseline - 1):")
        print("\n".join(cpu_per_cell.rounds_detail(results)))
        return
    if only_list:  # for profiling the list route: print its rows, write nothing
        for count, ours, theirs in await list_latency([1, 10, 50, 100]):
            print(
                f"{count:3d} kernels: active-sessions {ours:.2f} ms, kernels {theirs:.2f} ms, "
                f"{ours / theirs:.2f}x"
            )
        return
    rounds, executions = (3, 2000) if quick else (5, 10_000)
    began = time.perf_counter()
    with servers(True, False) as (on, off):
        progress("servers up; throughput and round trips", began)
        t = await throughput(on, off, rounds, 1000)
        progress(f"memory over {executions:,} executions", began)
        m = await memory(on, off, executions)
        progress("event latency", began)
        e = await event_latency(on, 20 if quick else 50)
        progress("burst", began)
        b = await burst(on, 10, 50)
    progress("server CPU per cell", began)
    cpu_rounds = 5 if quick else cpu_rounds
    cpu = await cpu_per_cell.run(cpu_rounds, cpu_cells, also, settled)
    progress("list latency", began)
    lists = await list_latency([1, 10] if quick else [1, 10, 50])
    progress("per-session overhead", began)
    overhead = await per_session_overhead(10)
    progress("done", began)

    lines = [
        f"Measured {datetime.date.today().isoformat()} on {machine()} by "
        f"`benchmarks/run.py{' --quick' if quick else ''}`. Each ratio is measured side by side "
        "in one run (servers with the extension enabled and disabled, alternating).\n",
        "| measure | extension on | extension off | ratio / figure | target |",
        "|---|---|---|---|---|",
        f"| execute throughput, 1,000 cells at once (median of {rounds}) | {t['on_cps']:.0f} cells/s "
        f"| {t['off_cps']:.0f} cells/s | {t['ratio']:.3f} | >= 0.97 |",
        f"| execute_request -> execute_reply p50 | {t['p50'][0]:.2f} ms | {t['p50'][1]:.2f} ms "
        f"| {t['p50'][0] / t['p50'][1]:.3f} | |",
        f"| execute_request -> execute_reply p99 | {t['p99'][0]:.2f} ms | {t['p99'][1]:.2f} ms "
        f"| {t['p99'][0] / t['p99'][1]:.3f} | |",
    ]
    cpu_table = cpu_per_cell.table(cpu, cpu_rounds, cpu_cells)
    for count, ours, theirs in lists:
        lines.append(
            f"| GET api/active-sessions vs GET api/kernels, {count} kernel(s) (median) "
            f"| {ours:.2f} ms | {theirs:.2f} ms (api/kernels) | {ours / theirs:.2f}x | <= 1.5x |"
        )
    lines += [
        f"| busy status -> event on /api/events/subscribe (n={e['n']}, quiet kernel) | p50 {e['p50']:.1f} ms, "
        f"p99 {e['p99']:.1f} ms, {e['missed']} without a busy event | | | p50 < 50 ms |",
        memory_row(m, executions),
        f"| per-session overhead (RSS with 10 kernels, on - off, per kernel) | | | {overhead / 1024:.0f} KiB | |",
        f"| burst: 50 cells at once to each of 10 kernels | {b['polls']} polls, {b['violations']} wrong, "
        f"max pending {b['max_pending']}, left at the end {b['leftover']} | | | 0 wrong, 0 left |",
        "",
        *cpu_table,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    update_results("main", text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="jupyter_session_ext benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument(
        "--list-only",
        action="store_true",
        help="only the list latency rows, printed, RESULTS.md untouched",
    )
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="only the server CPU rows (as shipped, control, capture), printed, "
        "RESULTS.md untouched",
    )
    parser.add_argument(
        "--rounds", type=int, default=20, help="rounds of the server CPU rows (default 20)"
    )
    parser.add_argument(
        "--cells", type=int, default=1000, help="pipelined cells per round (default 1000)"
    )
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        choices=sorted(cpu_per_cell.OPTIONAL_ROWS),
        help="more server CPU rows: TCP_NODELAY's part, the store's part",
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only the memory row, printed, RESULTS.md untouched",
    )
    parser.add_argument(
        "--scale-only",
        action="store_true",
        help="only server CPU with 50 idle kernels and the list at 100 kernels "
        "(the 'scale' section of RESULTS.md)",
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            args.quick,
            args.list_only,
            args.cpu_only,
            args.memory_only,
            args.scale_only,
            args.rounds,
            args.cells,
            tuple(args.also),
        )
    )
