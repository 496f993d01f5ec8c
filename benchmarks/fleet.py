"""How long the JupyterHub fleet service takes to gather every running
single-user server's sessions, and how that grows with their number (the
servers are asked concurrently). A real JupyterHub (tests/hub_process.py),
servers added 5 at a time, each with 2 kernels; at each size the first
request of `GET /services/active-sessions/api/fleet` as an admin (it mints
the newcomers' tokens) and the median of 5 after it. Writes the
"fleet" section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/fleet.py [--servers 20]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness import machine, update_results  # noqa: E402
from hub_process import JupyterHub  # noqa: E402


def mint_ms(hub: JupyterHub, users: list[str]) -> float:
    """The Hub's time to mint one token of a user's, as the service asks for
    them (median over `users`; these tokens are revoked after)."""
    times = []
    for user in users:
        started = time.monotonic()
        status, token = hub.api(
            "POST",
            f"users/{user}/tokens",
            {"scopes": [f"access:servers!user={user}"], "expires_in": 3600, "note": "bench"},
        )
        times.append((time.monotonic() - started) * 1000)
        assert status == 201, token
        hub.api("DELETE", f"users/{user}/tokens/{token['id']}")
    return statistics.median(times)


def main(servers: int) -> None:
    users = [f"user{i:03d}" for i in range(servers)]
    hub = JupyterHub(users + ["admin"])
    rows = []
    try:
        admin = hub.user_token("admin")
        running = 0
        for size in range(5, servers + 1, 5):
            for user in users[running:size]:
                hub.start_server(user)
                for _ in range(2):
                    status, body = hub.server_api(user, "POST", "kernels", {"name": "python3"})
                    assert status == 201, body
            # Ready, as each server itself says: the service has not yet
            # asked the newcomers, so its first gathering mints their tokens.
            for user in users[running:size]:
                hub.wait(
                    lambda user=user: (
                        [
                            s["status"]
                            for s in hub.server_api(user, "GET", "active-sessions")[1]["sessions"]
                        ]
                        == ["ready"] * 2
                    ),
                    120,
                    f"{user}'s kernels",
                )
            newcomers = size - running
            running = size
            time.sleep(5)  # kernels settle after their start-up
            started = time.monotonic()
            status, view = hub.fleet(admin)
            first = (time.monotonic() - started) * 1000
            assert status == 200 and all(
                s["reachable"] and len(s["sessions"]) == 2 for s in view["servers"]
            ), view
            walls, gathered = [], []
            for _ in range(5):
                time.sleep(0.1)  # past the service's min_interval (0 here)
                started = time.monotonic()
                status, view = hub.fleet(admin)
                walls.append((time.monotonic() - started) * 1000)
                assert status == 200 and len(view["servers"]) == size
                gathered.append(view["gathered_ms"])
            rows.append(
                (
                    size,
                    newcomers,
                    first,
                    statistics.median(walls),
                    statistics.median(gathered),
                    max(s["elapsed_ms"] for s in view["servers"]),
                )
            )
            print(rows[-1], flush=True)
        mint = mint_ms(hub, users)
    finally:
        hub.stop()
    lines = [
        "## Fleet view (JupyterHub service)",
        "",
        f"`benchmarks/fleet.py --servers {servers}`, "
        f"{datetime.date.today().isoformat()} on {machine()}. A real JupyterHub, "
        "each single-user server with 2 idle kernels. Each server is asked for its "
        "sessions and its ended kernels at once, all servers concurrently, each with a "
        "token of its own user's. The first gathering after servers are added mints "
        "those users' tokens through the Hub's API; steady state is the median of 5 "
        "admin requests after it, with every token held. Here the servers, the proxy and "
        "the Hub share 2 cores with the service, so the time grows with their number.",
        "",
        "| running servers | first gathering (new users' tokens minted) "
        "| GET api/fleet, steady (client) | gathering, steady (service) | slowest server |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {first:.0f} ms ({new} new) | {wall:.0f} ms | {gather:.0f} ms | {slowest:.0f} ms |"
        for n, new, first, wall, gather, slowest in rows
    ]
    lines += [
        "",
        f"The Hub mints one such token in {mint:.0f} ms (median of {servers}, "
        "asked one at a time): a first gathering of N new users costs about N times "
        "that of the Hub's time, spread over the concurrent requests.",
    ]
    update_results("fleet", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20)
    main(parser.parse_args().servers)
