"""The fleet view on a real JupyterHub: three users with running servers
and kernels, the fleet service as a managed Hub service, read by an admin,
refused to a user, with a stopped server gone and a hung server reported
unreachable while the others are shown."""

from __future__ import annotations

import asyncio
import time

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from hub_process import JupyterHub
from kernel_websocket import KernelWebsocket

USERS = ["alice", "bob", "carol"]
TIMEOUT = 3.0  # the service's per-server deadline


@pytest.fixture(scope="module")
def hub():
    hub = JupyterHub(USERS + ["admin"], timeout=TIMEOUT)
    try:
        for user in USERS:
            hub.start_server(user)
        yield hub
    finally:
        hub.stop()


def start_kernels(hub: JupyterHub, user: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        status, kernel = hub.server_api(user, "POST", "kernels", {"name": "python3"})
        assert status == 201, kernel
        ids.append(kernel["id"])
    return ids


async def run_forever(hub: JupyterHub, user: str, kernel_id: str) -> KernelWebsocket:
    """A websocket client through the proxy, with a cell that keeps the kernel busy."""
    url = f"ws://127.0.0.1:{hub.proxy_port}/user/{user}/api/kernels/{kernel_id}/channels"
    ws = await websocket_connect(HTTPRequest(
        url, headers={"Authorization": f"token {hub.admin_token}"}))
    client = KernelWebsocket(ws, v1=False)
    client.send_execute("import time; time.sleep(600)")
    return client


def fleet_until(hub: JupyterHub, token: str, until, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, view = hub.fleet(token)
        if status == 200 and until(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"fleet never as wanted; last: {status} {view}")
        time.sleep(0.3)


def user_line(view: dict, name: str) -> dict | None:
    return next((u for u in view["users"] if u["name"] == name), None)


def all_ready(hub: JupyterHub, user: str, kernel_ids: list[str], timeout: float = 120) -> None:
    """Until the user's server lists its kernels `ready`: a cell sent before
    the kernel's IOPub subscribers have connected is lost to all of them."""
    seen: list[dict] = []

    def ready() -> bool:
        seen[:] = hub.server_api(user, "GET", "active-sessions")[1]["sessions"]
        return sorted(s["session_id"] for s in seen if s["status"] == "ready") == sorted(
            kernel_ids)

    try:
        hub.wait(ready, timeout, f"{user}'s kernels to be ready")
    except AssertionError as err:
        states = [(s["session_id"], s["status"], s["process_id"]) for s in seen]
        raise AssertionError(f"{err}; the server lists {states}") from None


async def test_admin_sees_every_users_kernels(hub):
    kernels = {user: start_kernels(hub, user, n) for user, n in zip(USERS, (2, 1, 1))}
    for user in USERS:
        await asyncio.to_thread(all_ready, hub, user, kernels[user])
    busy = await run_forever(hub, "alice", kernels["alice"][0])
    admin = hub.user_token("admin")
    try:
        view = await asyncio.to_thread(fleet_until, hub, admin, lambda v: (
            (user_line(v, "alice") or {}).get("busy") == 1
            and all((user_line(v, u) or {}).get("kernels") == len(kernels[u]) for u in USERS)
            and all(s["status"] in ("idle", "ready", "busy")
                    for srv in v["servers"] for s in srv["sessions"])))
    finally:
        busy.close()
    assert [u["name"] for u in view["users"]] == USERS
    by_user = {s["user"]: s for s in view["servers"]}
    for user in USERS:
        server = by_user[user]
        assert server["reachable"] and server["error"] is None
        assert sorted(s["session_id"] for s in server["sessions"]) == sorted(kernels[user])
    alice = {s["session_id"]: s for s in by_user["alice"]["sessions"]}
    assert alice[kernels["alice"][0]]["status"] == "busy"
    assert alice[kernels["alice"][0]]["execution_queue"]["active"]["code"].startswith(
        "import time")
    assert alice[kernels["alice"][1]]["status"] in ("idle", "ready")
    assert by_user["bob"]["summary"]["by_status"].get("busy", 0) == 0


def test_a_user_who_is_not_an_admin_gets_403(hub):
    status, body = hub.fleet(hub.user_token("bob"))
    assert status == 403
    assert "admin" in body["error"]


def test_a_hung_server_is_unreachable_and_the_others_are_shown(hub):
    admin = hub.user_token("admin")
    pid = hub.server_pid("carol")
    hub.pause(pid)
    try:
        started = time.monotonic()
        status, view = hub.fleet(admin)
        took = time.monotonic() - started
    finally:
        hub.resume(pid)
    assert status == 200
    by_user = {s["user"]: s for s in view["servers"]}
    assert not by_user["carol"]["reachable"] and "timed out" in by_user["carol"]["error"]
    assert by_user["alice"]["reachable"] and by_user["bob"]["reachable"]
    assert user_line(view, "carol")["unreachable"] == 1
    # Not a speed limit: the view waited for carol's deadline, not for carol.
    assert took < TIMEOUT + 30


def test_a_stopped_server_disappears(hub):
    admin = hub.user_token("admin")
    hub.stop_server("bob")
    view = fleet_until(hub, admin, lambda v: user_line(v, "bob") is None)
    assert {s["user"] for s in view["servers"]} == {"alice", "carol"}


def test_shutting_down_one_users_idle_kernels_leaves_the_others(hub):
    admin = hub.user_token("admin")
    alice_before = {s["session_id"]: s["status"] for s in
                    hub.server_api("alice", "GET", "active-sessions")[1]["sessions"]}
    carol_before = {s["session_id"] for s in
                    hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]}
    idle = [k for k, status in alice_before.items() if status in ("idle", "ready")]
    busy = [k for k, status in alice_before.items() if status == "busy"]
    assert idle and busy and carol_before
    path = "api/fleet/users/alice/shutdown-idle"
    base = "/services/active-sessions/"
    # Bad input changes nothing.
    for body in ({"min_idle_seconds": -1}, {"min_idle_seconds": "5"}, {"other": 1}, [1]):
        status, answer = hub.api("POST", path, body, token=admin, base=base)
        assert status == 400 and answer["error"], (body, answer)
    assert hub.api("POST", "api/fleet/users/nobody/shutdown-idle", {"min_idle_seconds": 0},
                   token=admin, base=base)[0] == 404
    assert hub.api("POST", path, {"min_idle_seconds": 0}, token=hub.user_token("bob"),
                   base=base)[0] == 403
    status, answer = hub.api("POST", path, {"min_idle_seconds": 0}, token=admin, base=base)
    assert status == 200 and sorted(answer["shut_down"]) == sorted(idle) and not answer["failed"]
    alice_after = {s["session_id"] for s in
                   hub.server_api("alice", "GET", "active-sessions")[1]["sessions"]}
    assert alice_after == set(busy)
    assert {s["session_id"] for s in
            hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]} == carol_before
    assert "admin shut down 1 idle kernel(s) of alice" in hub.log.read_text()
