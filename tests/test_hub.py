"""The fleet view on a real JupyterHub: three users with running servers
and kernels, the fleet service as a managed Hub service, read by an admin,
refused to a user, with a stopped server gone and a hung server reported
unreachable while the others are shown."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub_process import JupyterHub
from kernel_websocket import KernelWebsocket

USERS = ["alice", "bob", "carol"]
SERVICE_BASE = "/services/active-sessions/"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 3.0  # the service's per-server deadline
MIN_INTERVAL = 1.0  # the service serves a view again for this long


@pytest.fixture(scope="module")
def hub():
    hub = JupyterHub(USERS + ["admin"], timeout=TIMEOUT, min_interval=MIN_INTERVAL)
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
    client = await hub.kernel_websocket(user, kernel_id)
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
    bob = hub.user_token("bob")
    status, body = hub.fleet(bob)
    assert status == 403
    assert "admin" in body["error"]
    for path in ("", "metrics"):
        assert hub.api("GET", path, token=bob, base=SERVICE_BASE)[0] == 403, path
    # A service that may reach this one, but is not in allowed_services.
    assert hub.fleet(hub.other_service_token)[0] == 403


def test_allowed_groups_and_services_may_read(hub):
    # carol is in "auditors", the service's allowed_groups; "prometheus" is
    # in its allowed_services.
    status, view = hub.fleet(hub.user_token("carol"))
    assert status == 200 and {u["name"] for u in view["users"]} == set(USERS)
    # As Prometheus sends its credentials: "Authorization: Bearer ...".
    request = urllib.request.Request(hub.url + SERVICE_BASE + "metrics", headers={
        "Authorization": f"Bearer {hub.prometheus_token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        assert "jupyter_fleet_server_up" in response.read().decode()


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of Prometheus text, None if absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_metrics_have_a_label_per_user(hub):
    admin = hub.user_token("admin")
    deadline = time.monotonic() + 60
    while True:
        status, text = hub.api("GET", "metrics", token=admin, base=SERVICE_BASE)
        assert status == 200, text
        if metric(text, "jupyter_fleet_kernels", user="alice", server_name="",
                  status="busy") == 1:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.5)
    for user in USERS:
        assert metric(text, "jupyter_fleet_server_up", user=user, server_name="") == 1
        assert metric(text, "jupyter_fleet_memory_bytes", user=user, server_name="") > 0
    assert metric(text, "jupyter_fleet_kernels", user="bob", server_name="",
                  status="busy") is None
    # The same figures as the JSON view, user by user.
    view = hub.fleet(admin)[1]
    for line in view["users"]:
        kernels = sum(metric(text, "jupyter_fleet_kernels", user=line["name"], server_name="",
                             status=status) or 0
                      for status in ("ready", "idle", "busy", "starting", "offline"))
        assert kernels == line["kernels"]


def test_a_hung_server_is_unreachable_and_the_others_are_shown(hub):
    admin = hub.user_token("admin")
    pid = hub.server_pid("carol")
    hub.pause(pid)
    try:
        time.sleep(MIN_INTERVAL)  # no view from before the pause
        with ThreadPoolExecutor(2) as pool:
            started = time.monotonic()
            first = pool.submit(hub.fleet, admin)
            time.sleep(1)  # within the first gathering: carol holds it TIMEOUT s
            second = pool.submit(hub.fleet, admin)
            status, view = first.result()
            took = time.monotonic() - started
            second_status, second_view = second.result()
    finally:
        hub.resume(pid)
    assert status == 200 and second_status == 200
    # A reader who asked during a gathering shared it: the same view.
    assert second_view["gathered"] == view["gathered"]
    by_user = {s["user"]: s for s in view["servers"]}
    assert not by_user["carol"]["reachable"] and "timed out" in by_user["carol"]["error"]
    assert by_user["alice"]["reachable"] and by_user["bob"]["reachable"]
    assert user_line(view, "carol")["unreachable"] == 1
    # Not a speed limit: the view waited for carol's deadline, not for carol.
    assert took < TIMEOUT + 30


def test_a_view_is_served_again_for_min_interval(hub):
    """Pages refreshing and Prometheus cost the servers at most one round
    per min_interval."""
    admin = hub.user_token("admin")
    time.sleep(MIN_INTERVAL)
    first = hub.fleet(admin)[1]
    again = hub.fleet(admin)[1]
    assert again["gathered"] == first["gathered"]
    time.sleep(MIN_INTERVAL)
    assert hub.fleet(admin)[1]["gathered"] != first["gathered"]


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
    # Prometheus's token may read the fleet, not act on it.
    assert hub.api("POST", path, {"min_idle_seconds": 0}, token=hub.prometheus_token,
                   base=base)[0] == 403
    status, answer = hub.api("POST", path, {"min_idle_seconds": 0}, token=admin, base=base)
    assert status == 200 and sorted(answer["shut_down"]) == sorted(idle) and not answer["failed"]
    alice_after = {s["session_id"] for s in
                   hub.server_api("alice", "GET", "active-sessions")[1]["sessions"]}
    assert alice_after == set(busy)
    assert {s["session_id"] for s in
            hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]} == carol_before
    assert "admin shut down 1 idle kernel(s) of alice" in hub.log.read_text()
    # The fleet shows why the kernel went: alice's server's ended kernels.
    view = fleet_until(hub, admin, lambda v: any(
        e["session_id"] == idle[0] for s in v["servers"] if s["user"] == "alice"
        for e in s["ended"]))
    alice = next(s for s in view["servers"] if s["user"] == "alice")
    ended = next(e for e in alice["ended"] if e["session_id"] == idle[0])
    assert ended["reason"] == "shutdown"
    assert alice["summary"]["ended_by_reason"].get("shutdown", 0) >= 1
    assert user_line(view, "alice")["ended"] >= 1


def test_the_page_in_chromium(hub):
    """An admin's browser: Hub login, the page through Hub OAuth, sorting,
    a user's kernels, and shutting down carol's idle kernel with the dialog
    (Cancel first: nothing happens)."""
    from playwright.sync_api import expect, sync_playwright

    carol = [s["session_id"] for s in
             hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]]
    assert len(carol) == 1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            hub.log_in(page, "admin")
            page.goto(hub.service_page())
            rows = page.locator("tr.fleet-user")
            expect(rows).to_have_count(2, timeout=30_000)  # bob's server was stopped
            expect(page.locator("#totals")).to_contain_text("2users")
            # Sorted by memory, largest first; a click turns it around.
            memory = page.locator("th[data-sort=memory_bytes]")
            expect(memory).to_have_attribute("aria-sort", "descending")
            view = hub.fleet(hub.user_token("admin"))[1]
            by_memory = [u["name"] for u in sorted(view["users"],
                                                   key=lambda u: -u["memory_bytes"])]
            if by_memory == [r.get_attribute("data-user") for r in rows.all()]:
                memory.locator("button").click()
                expect(memory).to_have_attribute("aria-sort", "ascending")
                assert [r.get_attribute("data-user") for r in rows.all()] == by_memory[::-1]
            # alice's kernels: the busy one shows what it runs.
            page.click("tr.fleet-user[data-user=alice] .fleet-expand")
            details = page.locator("tr.fleet-details[data-user=alice]")
            expect(details.locator("tr[data-kernel]")).to_have_count(1)
            expect(details).to_contain_text("busy")
            expect(details.locator(".fleet-code")).to_contain_text("import time")
            # carol's idle kernel: asked first; Cancel changes nothing.
            shut = page.locator("tr.fleet-user[data-user=carol] button", has_text="Shut down idle")
            shut.click()
            dialog = page.locator("#confirm")
            expect(dialog).to_be_visible()
            page.fill("#confirm-minutes", "0")
            expect(page.locator("#confirm-preview")).to_contain_text("1 kernel(s)")
            dialog.locator("button[value=cancel]").click()
            expect(dialog).to_be_hidden()
            assert [s["session_id"] for s in hub.server_api(
                "carol", "GET", "active-sessions")[1]["sessions"]] == carol
            # A cookie-authenticated POST without the page's XSRF token is refused.
            status = page.evaluate("""async () => (await fetch('api/fleet/users/carol/shutdown-idle',
                {method: 'POST', body: '{"min_idle_seconds": 0}'})).status""")
            assert status == 403
            shut.click()
            page.fill("#confirm-minutes", "0")
            page.click("#confirm-go")
            expect(page.locator("#message")).to_have_text("Shut down 1 of carol's kernels.")
            hub.wait(lambda: not hub.server_api("carol", "GET", "active-sessions")[1][
                "sessions"], 30, "carol's kernel to go")
            assert "admin shut down 1 idle kernel(s) of carol" in hub.log.read_text()
        finally:
            browser.close()
