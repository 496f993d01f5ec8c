"""How long the JupyterHub fleet service takes to gather every running
single-user server's sessions, and how that grows with their number (the
servers are asked concurrently). A real JupyterHub (tests/hub_process.py),
servers added 5 at a time, each with 2 kernels; the median of 5 requests of
`GET /services/active-sessions/api/fleet` as an admin at each size. Writes the
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
            running = size
            hub.wait(lambda: all(s["reachable"] and len(s["sessions"]) == 2
                                 for s in hub.fleet(admin)[1]["servers"]), 120,
                     "every server to show its kernels")
            time.sleep(5)  # kernels settle after their start-up
            walls, gathered = [], []
            for _ in range(5):
                started = time.monotonic()
                status, view = hub.fleet(admin)
                walls.append((time.monotonic() - started) * 1000)
                assert status == 200 and len(view["servers"]) == size
                gathered.append(view["gathered_ms"])
            rows.append((size, statistics.median(walls), statistics.median(gathered),
                         max(s["elapsed_ms"] for s in view["servers"])))
            print(rows[-1], flush=True)
    finally:
        hub.stop()
    lines = [
        "## Fleet view (JupyterHub service)",
        "",
        f"`benchmarks/fleet.py --servers {servers}`, "
        f"{datetime.date.today().isoformat()} on {machine()}. A real JupyterHub, "
        "each single-user server with 2 idle kernels; median of 5 admin requests. "
        "Each server is asked for its sessions and its ended kernels at once, all "
        "servers concurrently; here the servers, the proxy and the Hub share 2 cores "
        "with the service, so the time grows with their number.",
        "",
        "| running servers | GET api/fleet (client) | gathering (service) | slowest server |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {wall:.0f} ms | {gather:.0f} ms | {slowest:.0f} ms |"
              for n, wall, gather, slowest in rows]
    update_results("fleet", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20)
    main(parser.parse_args().servers)
