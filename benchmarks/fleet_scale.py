"""The fleet service at 100 / 250 / 500 servers, through a real JupyterHub and
its real proxy, and the fleet page at that size in Chromium. The servers are
stand-ins (benchmarks/stand_in_servers.py): one process answering for every
user with a real server's recorded answers, each request's token checked with
the Hub as a real server does. So what is measured is the Hub's API and its
pagination, the proxy, and the service's fan-out, tokens and summaries; not
500 servers' own work. Writes the "fleet-scale" section of RESULTS.md.

    .venv/bin/python benchmarks/fleet_scale.py [--sizes 100 250 500]
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from harness import Server, machine, update_results  # noqa: E402
from hub_process import JupyterHub  # noqa: E402
from server_process import free_port, start_and_wait, stop  # noqa: E402
from stand_in_servers import record  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
STEADY = 5
PAGE = 100  # fleet.js draws this many users at once


def recorded_answers() -> dict[str, str]:
    """A real server's answers with two idle kernels, each kernel ready."""
    server = Server(True)
    try:
        for _ in range(2):
            server.start_kernel()
        JupyterHub.wait(
            lambda: (
                [s["status"] for s in server.get("api/active-sessions")["sessions"]]
                == ["ready"] * 2
            ),
            120,
            "the recorded server's kernels",
        )
        time.sleep(6)  # one resource sample, as a running server has
        return record(server)
    finally:
        server.stop()


def ready_servers(hub: JupyterHub) -> int:
    status, page = hub.api(
        "GET",
        "users?state=ready&limit=1",
        headers={
            "Authorization": f"token {hub.admin_token}",
            "Accept": "application/jupyterhub-pagination+json",
        },
    )
    assert status == 200, page
    return page["_pagination"]["total"]


def processes(hub: JupyterHub, stand_in: subprocess.Popen[bytes]) -> dict[str, psutil.Process]:
    """The processes whose CPU is shown: the service, the Hub, the proxy, the stand-ins."""
    found = {"hub": psutil.Process(hub.proc.pid), "stand-ins": psutil.Process(stand_in.pid)}
    for child in found["hub"].children(recursive=True):
        line = " ".join(child.cmdline())
        if "jupyter_session_ext.hub" in line:
            found["service"] = child
        elif "configurable-http-proxy" in line:
            found["proxy"] = child
    assert {"service", "proxy"} <= found.keys(), found
    return found


def cpu_seconds(procs: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: sum(p.cpu_times()[:2]) for name, p in procs.items()}


def gathering(hub: JupyterHub, token: str, procs: dict[str, psutil.Process]) -> dict[str, Any]:
    """One `GET api/fleet`: its time at the client and in the service, how
    many servers answered, and each process's CPU over it."""
    before = cpu_seconds(procs)
    started = time.monotonic()
    status, view = hub.fleet(token)
    wall = (time.monotonic() - started) * 1000
    after = cpu_seconds(procs)
    assert status == 200, view
    return {
        "wall_ms": wall,
        "gathered_ms": view["gathered_ms"],
        "servers": len(view["servers"]),
        "reachable": sum(s["reachable"] and len(s["sessions"]) == 2 for s in view["servers"]),
        "errors": sorted({s["error"] for s in view["servers"] if s["error"]})[:3],
        "cpu_ms": {k: (after[k] - before[k]) * 1000 for k in procs},
    }


def dark(screenshot: Path) -> Path:
    return screenshot.with_name(screenshot.stem + "-dark" + screenshot.suffix)


def page_timings(hub: JupyterHub, users: int, screenshot: Path | None = None) -> dict[str, float]:
    """The fleet page as an admin opens it: its first render (fleet.js's own
    `fleet-render` measure: script and DOM), then sorting and filtering with
    the browser's style and layout included (median of 5 each)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            hub.log_in(page, "admin")
            page.goto(hub.service_page())
            # The page draws a page of users (fleet.js: PAGE) and says how many there are.
            expect(page.locator("#more-text")).to_have_text(
                f"Showing {min(users, PAGE)} of {users} users", timeout=120_000
            )
            expect(page.locator("tr.fleet-user")).to_have_count(min(users, PAGE))
            first = page.evaluate("() => performance.getEntriesByName('fleet-render')[0].duration")
            sort = page.evaluate(
                """async ([keys, rounds]) => {
                    const times = [];
                    for (let i = 0; i < rounds; i++) {
                        for (const key of keys) {
                            const button = document.querySelector(`th[data-sort=${key}] button`);
                            const t = performance.now();
                            button.click();
                            document.querySelector('#fleet').offsetHeight; // layout
                            times.push(performance.now() - t);
                            await new Promise(r => requestAnimationFrame(r));
                        }
                    }
                    return times;
                }""",
                [["name", "memory_bytes", "kernels", "max_idle_seconds"], STEADY],
            )
            filtered = page.evaluate(
                """async ([texts, rounds]) => {
                    const input = document.getElementById('filter');
                    const times = {};
                    const shown = {};
                    for (let i = 0; i < rounds; i++) {
                        for (const text of texts) {
                            const t = performance.now();
                            input.value = text;
                            input.dispatchEvent(new Event('input'));
                            document.querySelector('#fleet').offsetHeight; // layout
                            (times[text] ??= []).push(performance.now() - t);
                            shown[text] = document.querySelectorAll('tr.fleet-user').length;
                            await new Promise(r => requestAnimationFrame(r));
                        }
                    }
                    return [times, shown];
                }""",
                [["user1", ""], STEADY],
            )
            times, shown = filtered
            assert shown[""] == min(users, PAGE), shown
            if screenshot is not None:  # the foot of the first page, where "Show more" is
                for theme, path in (("", screenshot), ("?theme=dark", dark(screenshot))):
                    page.goto(hub.service_page(theme))
                    expect(page.locator("tr.fleet-user")).to_have_count(min(users, PAGE))
                    page.locator("#more").scroll_into_view_if_needed()
                    page.screenshot(path=str(path))
        finally:
            browser.close()
    return {
        "first": first,
        "sort": statistics.median(sort),
        "sort_max": max(sort),
        "filter": statistics.median(times["user1"]),
        "filtered": shown["user1"],
        "unfilter": statistics.median(times[""]),
    }


def main(sizes: list[int], screenshot: Path | None = None) -> None:
    users = [f"user{i:03d}" for i in range(max(sizes))]
    answers = Path(tempfile.mkdtemp(prefix="stand-ins-")) / "answers.json"
    answers.write_text(json.dumps(recorded_answers()))
    port = free_port()
    hub = JupyterHub(
        users + ["admin"],
        timeout=5.0,  # the service's own default
        extra_config=f"""
sys.path.insert(0, {str(HERE)!r})
c.JupyterHub.spawner_class = "stand_in_servers.StandInSpawner"
c.StandInSpawner.port = {port}
c.JupyterHub.concurrent_spawn_limit = 0
""",
    )
    stand_in = start_and_wait(
        [
            sys.executable,
            str(HERE / "stand_in_servers.py"),
            f"--port={port}",
            f"--answers={answers}",
            f"--hub-api=http://127.0.0.1:{hub.hub_port}/hub/api",
            f"--token={hub.admin_token}",
        ],
        f"http://127.0.0.1:{port}/user/nobody/",
        hub.dir / "stand-ins.log",
    )
    rows: list[dict[str, Any]] = []
    page: dict[str, float] = {}
    try:
        procs = processes(hub, stand_in)
        admin = hub.user_token("admin")
        running = 0
        for size in sizes:
            began = time.monotonic()
            for user in users[running:size]:
                status, body = hub.api("POST", f"users/{user}/server")
                assert status in (201, 202), body
            hub.wait(lambda size=size: ready_servers(hub) == size, 600, f"{size} servers")
            spawn_s = time.monotonic() - began
            newcomers, running = size - running, size
            first = gathering(hub, admin, procs)
            steady = []
            for _ in range(STEADY):
                time.sleep(0.2)  # past the service's min_interval (0 here)
                steady.append(gathering(hub, admin, procs))
            rows.append(
                {
                    "size": size,
                    "new": newcomers,
                    "spawn_s": spawn_s,
                    "first": first,
                    "steady": steady,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        page = page_timings(hub, max(sizes), screenshot)
        print(page, flush=True)
    finally:
        stop(stand_in)
        hub.stop()
    write(sizes, rows, page)


def median(steady: list[dict[str, Any]], key: str, proc: str | None = None) -> float:
    return statistics.median(s["cpu_ms"][proc] if proc else s[key] for s in steady)


def write(sizes: list[int], rows: list[dict[str, Any]], page: dict[str, float]) -> None:
    lines = [
        "## Fleet at scale (stand-in servers)",
        "",
        f"`benchmarks/fleet_scale.py --sizes {' '.join(map(str, sizes))}`, "
        f"{datetime.date.today().isoformat()} on {machine()}.",
        "",
        "**A simulation of the servers, nothing else.** A real JupyterHub, its real "
        "configurable-http-proxy and the real fleet service (its defaults: 50 servers "
        "at once, 5 s each); the users' servers are stand-ins "
        "(`benchmarks/stand_in_servers.py`): one process, routed by the proxy as each "
        "user's server, answering `api/active-sessions?include=ended,status` (the one "
        "request the service makes of each server) with a real server's recorded answers "
        "(2 idle kernels) and checking each request's token with the Hub as a single-user "
        "server does (jupyterhub's `HubAuth`, cached). The first gathering after servers are added mints the newcomers' "
        f"tokens; steady is the median of {STEADY} gatherings after it. CPU is each "
        "process's user + system time over one gathering; all share the machine's cores.",
        "",
        "| servers | first gathering (new tokens) | steady (client) | steady (service) "
        "| service CPU, first | service CPU, steady | Hub | proxy | stand-ins | answered |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["steady"]
        lines.append(
            f"| {r['size']} | {r['first']['wall_ms']:.0f} ms ({r['new']} new) "
            f"| {median(s, 'wall_ms'):.0f} ms | {median(s, 'gathered_ms'):.0f} ms "
            f"| {r['first']['cpu_ms']['service']:.0f} ms "
            f"| {median(s, '', 'service'):.0f} ms | {median(s, '', 'hub'):.0f} ms "
            f"| {median(s, '', 'proxy'):.0f} ms | {median(s, '', 'stand-ins'):.0f} ms "
            f"| {min(g['reachable'] for g in s)} of {r['size']} |"
        )
    errors = sorted({e for r in rows for g in [r["first"], *r["steady"]] for e in g["errors"]})
    if errors:
        lines += ["", "Errors seen: " + "; ".join(errors[:5])]
    if page:
        lines += [
            "",
            f"**The fleet page with {max(sizes)} users** in Chromium ({CHROMIUM}), "
            f"1400×900, drawing {PAGE} users at a time (the filter finds the others): "
            "first render (fleet.js's `fleet-render` measure, script and DOM) "
            f"**{page['first']:.0f} ms**; a sort, style and layout included, "
            f"**{page['sort']:.0f} ms** (median of {STEADY * 4}, slowest "
            f"{page['sort_max']:.0f} ms); filtering to `user1` ({page['filtered']:.0f} users) "
            f"**{page['filter']:.0f} ms**, and back to all **{page['unfilter']:.0f} ms** "
            f"(medians of {STEADY}).",
        ]
    text = "\n".join(lines)
    update_results("fleet-scale", text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500])
    parser.add_argument(
        "--screenshot", type=Path, help="PNGs of the page's first page (and its -dark twin)"
    )
    args = parser.parse_args()
    main(args.sizes, args.screenshot)
