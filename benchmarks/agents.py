"""What agents polling the server cost it: server CPU (% of one core) while
10 agents each ask once a second for the list of 30 kernels (5 of them
busy), through the MCP endpoint (`list_kernels`, with the official SDK's
client, one session per agent) and through the REST list
(`GET api/active-sessions`, one keep-alive connection per agent), side by
side on one server, rounds alternating; and with nobody asking.

    .venv/bin/python benchmarks/agents.py [--rounds 3] [--seconds 20]

The server runs with the MCP SDK (the `mcp` extra: the tests' MCP peer
venv). Writes the "agents" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import site
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil
from run import settled

from harness import Client, Server, machine, update_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from peer_venv import MCP, peer_python, peer_site  # noqa: E402

site.addsitedir(peer_site("mcp", MCP))
import mcp  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402

KERNELS = 30
BUSY = 5
AGENTS = 10


class McpServer(Server):
    """The benchmark's server, run by the MCP peer venv's interpreter."""

    def __init__(self) -> None:
        super(Server, self).__init__(True, [], python=peer_python("mcp", MCP))


def cpu_seconds(server: Server) -> float:
    times = psutil.Process(server.proc.pid).cpu_times()
    return times.user + times.system


async def poll_each_second(
    ask: Callable[[], Awaitable[None]], offset: float, stop: float, took: list[float]
) -> None:
    """`ask()` once a second (starting `offset` into the second) until `stop`."""
    next_at = time.monotonic() + offset
    while next_at < stop:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        began = time.perf_counter()
        await ask()
        took.append(time.perf_counter() - began)
        next_at += 1.0


async def mcp_agent(server: Server, offset: float, stop: float, took: list[float]) -> None:
    url = server.url + "api/active-sessions/mcp"
    async with create_mcp_http_client(headers=server.auth) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            async with mcp.ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                await session.list_tools()  # (the client checks answers against their schemas)

                async def ask() -> None:
                    result = await session.call_tool("list_kernels", {})
                    assert len(result.structured_content["kernels"]) == KERNELS

                await poll_each_second(ask, offset, stop, took)


async def rest_agent(server: Server, offset: float, stop: float, took: list[float]) -> None:
    async with create_mcp_http_client(headers=server.auth) as http:

        async def ask() -> None:
            response = await http.get(server.url + "api/active-sessions")
            assert response.status_code == 200 and response.json()["total"] == KERNELS

        await poll_each_second(ask, offset, stop, took)


AGENT = {"MCP list_kernels": mcp_agent, "REST GET api/active-sessions": rest_agent}


async def window(server: Server, way: str | None, seconds: float) -> tuple[float, list[float]]:
    """(server CPU % of one core, each request's time) over `seconds` of `way`."""
    await settled(30)
    took: list[float] = []
    warm = 3.0  # sessions open and the first answers come before the window
    start = time.monotonic() + warm
    stop = start + seconds
    agents = (
        [
            asyncio.ensure_future(
                AGENT[way](server, start + i / AGENTS - time.monotonic(), stop, took)
            )
            for i in range(AGENTS)
        ]
        if way
        else []
    )
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    before = cpu_seconds(server)
    await asyncio.sleep(max(0.0, stop - time.monotonic()))
    used = cpu_seconds(server) - before
    await asyncio.gather(*agents)
    return 100 * used / seconds, took


async def main(rounds: int, seconds: float) -> None:
    server = McpServer()
    clients = []
    try:
        ids = [server.start_kernel() for _ in range(KERNELS)]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            listed = server.get("api/active-sessions")["sessions"]
            if len(listed) == KERNELS and all(s["status"] == "ready" for s in listed):
                break
            await asyncio.sleep(1)
        for kernel_id in ids[:BUSY]:
            client = await Client.open(server, kernel_id)
            client.send("import time; time.sleep(3600)")
            clients.append(client)
        ways: list[str | None] = [None, *AGENT]
        cpu: dict[str | None, list[float]] = {way: [] for way in ways}
        took: dict[str | None, list[float]] = {way: [] for way in ways}
        for r in range(rounds):
            for way in ways if r % 2 == 0 else ways[::-1]:
                used, times = await window(server, way, seconds)
                cpu[way].append(used)
                took[way] += times
                print(f"round {r + 1}: {way or 'nobody asking'}: {used:.2f}%", flush=True)
    finally:
        for client in clients:
            client.close()
        server.stop()

    med = statistics.median
    idle = med(cpu[None])
    lines = [
        "## Agents polling the kernel list",
        "",
        f"`benchmarks/agents.py --rounds {rounds} --seconds {seconds:.0f}`, "
        f"{time.strftime('%Y-%m-%d')} on {machine()}. One server with {KERNELS} kernels "
        f"({BUSY} busy); {AGENTS} agents each ask once a second for the list, through "
        "the MCP endpoint (the official SDK's client, a session each) or the REST "
        f"route (a keep-alive connection each). Server CPU (% of one core) over "
        f"{seconds:.0f} s, median of {rounds} rounds, ways alternating; each request's "
        "time as its agent saw it.",
        "",
        "| who asks | server CPU | over nobody asking | per request (server CPU) | request p50 | p90 |",
        "|---|---|---|---|---|---|",
        f"| nobody | {idle:.2f}% | | | | |",
    ]
    for way in AGENT:
        value = med(cpu[way])
        per = 10 * (value - idle) / AGENTS  # ms of CPU per request: % of a core x 10 / (requests/s)
        times = sorted(took[way])
        p50 = 1000 * times[len(times) // 2]
        p90 = 1000 * times[int(len(times) * 0.9)]
        lines.append(
            f"| {AGENTS} agents, {way} | {value:.2f}% | +{value - idle:.2f} | "
            f"{per:.2f} ms | {p50:.1f} ms | {p90:.1f} ms |"
        )
    update_results("agents", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.seconds))
