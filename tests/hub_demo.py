"""A real JupyterHub with a realistic fleet, for looking at the fleet page:
users with servers and kernels (some busy, some holding memory, notebooks
bound), one user's kernel killed with SIGKILL as the OOM killer would, and
one hung server. Takes screenshots of the page in Chromium (light and dark),
or keeps the Hub running for a person to look.

    .venv/bin/python tests/hub_demo.py [--users 10] [--screenshots docs/]
    .venv/bin/python tests/hub_demo.py --keep      # log in as "admin", any password
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from hub_process import JupyterHub  # noqa: E402

NAMES = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
]
NOTEBOOKS = [
    "analysis.ipynb",
    "train_model.ipynb",
    "etl/load_sales.ipynb",
    "plots/figures.ipynb",
    "scratch.ipynb",
    "report-2026-q4.ipynb",
]
BUSY_CODE = [
    "model.fit(X_train, y_train, epochs=50)  # long training\nimport time; time.sleep(3600)",
    "import time\nfor chunk in range(10_000):\n    time.sleep(0.5)",
    "df = spark.read.parquet('s3://sales/2026/')  # waiting on the cluster\n"
    "import time; time.sleep(3600)",
]


async def run(code: str, hub: JupyterHub, user: str, kernel_id: str) -> None:
    """Start `code` and leave it running: closed once the kernel announced it."""
    client = await hub.kernel_websocket(user, kernel_id)
    msg_id = client.send_execute(code)
    try:
        await client.wait_for(
            lambda m: (
                m["header"]["msg_type"] == "execute_input"
                and m["parent_header"].get("msg_id") == msg_id
            )
        )
    finally:
        client.close()


def populate(hub: JupyterHub, users: list[str], rng: random.Random) -> None:
    for user in users:
        hub.api("POST", f"users/{user}/server")
    for user in users:
        hub.wait(
            lambda user=user: (
                hub.api("GET", f"users/{user}")[1]["servers"].get("", {}).get("ready")
            ),
            180,
            f"{user}'s server",
        )
    kernels = 0
    for user in users:
        for path in rng.sample(NOTEBOOKS, rng.choice([1, 2, 2, 3, 4])):
            status, session = hub.server_api(
                user,
                "POST",
                "sessions",
                {"path": path, "type": "notebook", "name": path, "kernel": {"name": "python3"}},
            )
            assert status == 201, session
            kernel_id = session["kernel"]["id"]
            hub.wait(
                lambda user=user, kernel_id=kernel_id: any(
                    s["session_id"] == kernel_id and s["status"] == "ready"
                    for s in hub.server_api(user, "GET", "active-sessions")[1]["sessions"]
                ),
                120,
                f"{user}'s kernel",
            )
            megabytes = rng.choice([0, 0, 50, 200, 400, 900])
            code = f"x = bytearray({megabytes} * 1000 * 1000)" if megabytes else "1+1"
            asyncio.run(run(code, hub, user, kernel_id))
            kernels += 1
            if kernels % 5 == 2:
                asyncio.run(run(rng.choice(BUSY_CODE), hub, user, kernel_id))


def kill_one(hub: JupyterHub, user: str) -> None:
    """A kernel ended by SIGKILL that the server did not send (as the OOM
    killer does): shown as `killed` under the user's ended kernels."""
    sessions = hub.server_api(user, "GET", "active-sessions")[1]["sessions"]
    victim = sessions[0]
    os.kill(victim["process_id"], signal.SIGKILL)
    hub.wait(
        lambda: (
            any(
                e["session_id"] == victim["session_id"]
                for e in hub.server_api(user, "GET", "active-sessions/ended")[1]["sessions"]
            )
            or victim["process_id"]
            != next(
                (
                    s["process_id"]
                    for s in hub.server_api(user, "GET", "active-sessions")[1]["sessions"]
                    if s["session_id"] == victim["session_id"]
                ),
                None,
            )
        ),
        60,
        "the kill to be seen",
    )


def shut_down_one(hub: JupyterHub, user: str) -> None:
    """A kernel its user shut down: listed under the user's ended kernels."""
    victim = hub.server_api(user, "GET", "active-sessions")[1]["sessions"][-1]
    hub.server_api(user, "DELETE", f"kernels/{victim['session_id']}")


def screenshots(hub: JupyterHub, folder: Path, expand: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for theme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=theme)
            hub.log_in(page, "admin")
            page.goto(hub.service_page())
            page.wait_for_selector("tr.fleet-user")
            for user in expand:
                page.click(f"tr.fleet-user[data-user='{user}'] .fleet-expand")
            page.wait_for_timeout(300)
            page.screenshot(path=str(folder / f"fleet-{theme}.png"), full_page=True)
            page.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--keep", action="store_true", help="run until Ctrl-C")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    users = NAMES[: args.users]
    hub = JupyterHub(users + ["admin"], timeout=3.0)
    hung = None
    try:
        started = time.monotonic()
        populate(hub, users, rng)
        kill_one(hub, users[1])
        shut_down_one(hub, users[0])
        hung = hub.server_pid(users[-1])
        hub.pause(hung)  # a hung server
        print(
            f"{len(users)} users ready in {time.monotonic() - started:.0f} s: "
            f"{hub.service_page()} (log in as admin, any password)",
            flush=True,
        )
        if args.screenshots:
            # Expanded: a user with a busy kernel, and the one with the kill.
            view = hub.fleet(hub.user_token("admin"))[1]
            busy = next(u["name"] for u in view["users"] if u["busy"])
            screenshots(hub, args.screenshots, expand=[busy, users[1]])
        if args.keep:
            # A background job ignores SIGINT: stop on SIGTERM too, cleanly.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        if hung:
            hub.resume(hung)  # a stopped process cannot even be stopped
        hub.stop()


if __name__ == "__main__":
    main()
