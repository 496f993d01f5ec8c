"""The fleet view on a real JupyterHub: three users with running servers
and kernels, the fleet service as a managed Hub service, read by an admin,
refused to a user, with a stopped server gone and a hung server reported
unreachable while the others are shown."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub_process import JupyterHub
from kernel_websocket import KernelWebsocket

USERS = ["alice", "bob", "carol"]
SERVICE_BASE = "/services/active-sessions/"
# Debian's, or the one `make` is told of (CHROMIUM_PATH), as the browser tests.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TIMEOUT = 3.0  # the service's per-server deadline
MIN_INTERVAL = 1.0  # the service serves a view again for this long
HUB_USERS = Path(__file__).parent / "hub_users"


@pytest.fixture(scope="module")
def hub():
    hub = JupyterHub(USERS + ["admin"], timeout=TIMEOUT, min_interval=MIN_INTERVAL)
    # bob's own server config writes down every credential that reaches it.
    user_config(hub, "bob", "spy_config.py")
    try:
        for user in USERS:
            hub.start_server(user)
        yield hub
    finally:
        hub.stop()


def user_config(hub: JupyterHub, user: str, config: str, *extra: str) -> None:
    """`user`'s own ~/.jupyter/jupyter_server_config.py (and modules beside
    it in their home), from tests/hub_users/."""
    (hub.home(user) / ".jupyter").mkdir()
    shutil.copy(HUB_USERS / config, hub.home(user) / ".jupyter" / "jupyter_server_config.py")
    for module in extra:
        shutil.copy(HUB_USERS / module, hub.home(user) / module)


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
        return sorted(s["session_id"] for s in seen if s["status"] == "ready") == sorted(kernel_ids)

    try:
        hub.wait(ready, timeout, f"{user}'s kernels to be ready")
    except AssertionError as err:
        states = [(s["session_id"], s["status"], s["process_id"]) for s in seen]
        # What the Hub's log (the users' servers write there too) says of
        # these kernels: the Hub's folder goes when the fixture ends.
        said = [
            line
            for line in hub.log.read_text(errors="replace").splitlines()
            if any(k in line for k in kernel_ids) or "Address already in use" in line
        ]
        raise AssertionError(
            f"{err}; the server lists {states}; the log says:\n" + "\n".join(said[-30:])
        ) from None


async def test_admin_sees_every_users_kernels(hub):
    kernels = {user: start_kernels(hub, user, n) for user, n in zip(USERS, (2, 1, 1), strict=True)}
    for user in USERS:
        await asyncio.to_thread(all_ready, hub, user, kernels[user])
    busy = await run_forever(hub, "alice", kernels["alice"][0])
    admin = hub.user_token("admin")
    try:
        view = await asyncio.to_thread(
            fleet_until,
            hub,
            admin,
            lambda v: (
                (user_line(v, "alice") or {}).get("busy") == 1
                and all((user_line(v, u) or {}).get("kernels") == len(kernels[u]) for u in USERS)
                and all(
                    s["status"] in ("idle", "ready", "busy")
                    for srv in v["servers"]
                    for s in srv["sessions"]
                )
            ),
        )
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
    assert alice[kernels["alice"][0]]["execution_queue"]["active"]["code"].startswith("import time")
    assert alice[kernels["alice"][1]]["status"] in ("idle", "ready")
    assert by_user["bob"]["summary"]["by_status"].get("busy", 0) == 0


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to the Hub's login, say) is an answer, not a way on


def status_with(hub: JupyterHub, method: str, path: str, heard: dict[str, str]) -> int:
    """The status a request with exactly the credentials `heard` gets."""
    request = urllib.request.Request(
        hub.url + path, method=method, headers=heard, data=b"{}" if method == "POST" else None
    )
    try:
        with urllib.request.build_opener(NoRedirects).open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_no_credential_a_server_hears_opens_anything_else(hub):
    """bob's server writes down every credential reaching it while the
    service gathers it; none opens alice's server, the Hub's API beyond
    bob's own rights, or the service, yet the fleet shows bob's kernels."""
    heard_file = hub.home("bob") / "credentials.jsonl"
    admin = hub.user_token("admin")
    bob_kernels = [
        s["session_id"] for s in hub.server_api("bob", "GET", "active-sessions")[1]["sessions"]
    ]
    assert bob_kernels
    time.sleep(MIN_INTERVAL)
    view = fleet_until(
        hub,
        admin,
        lambda v: (
            sorted(
                k["session_id"] for s in v["servers"] if s["user"] == "bob" for k in s["sessions"]
            )
            == sorted(bob_kernels)
        ),
    )
    # Prometheus's scrape makes a gathering too.
    time.sleep(MIN_INTERVAL)
    assert hub.api("GET", "metrics", token=hub.prometheus_token, base=SERVICE_BASE)[0] == 200
    heard = [json.loads(line) for line in heard_file.read_text().splitlines()]
    credentials = {
        (k, v)
        for h in heard
        for k, v in (("Authorization", h["authorization"]), ("Cookie", h["cookie"]))
        if v
    }
    ours = {("Authorization", f"token {hub.own_token('bob')}")}
    from_the_service = credentials - ours
    assert from_the_service, f"the service's requests were not heard: {heard[-3:]}"
    alice_kernel = hub.server_api("alice", "GET", "kernels")[1][0]["id"]
    elsewhere = [
        ("GET", "/user/alice/api/kernels"),
        ("GET", "/user/alice/api/active-sessions"),
        ("DELETE", f"/user/alice/api/kernels/{alice_kernel}"),
        ("GET", "/user/carol/api/contents"),
        ("GET", "/hub/api/users"),
        ("GET", "/hub/api/users/alice"),
        ("POST", "/hub/api/users/alice/tokens"),
        ("POST", "/hub/api/users/bob/tokens"),  # more of bob's own: not the service's to give
        ("DELETE", "/hub/api/users/alice/server"),
        ("GET", SERVICE_BASE + "api/fleet"),
    ]
    for key, value in sorted(credentials):
        for method, path in elsewhere:
            if (key, value) in ours and path == "/hub/api/users/bob/tokens":
                continue  # the test's own token is bob's, with all of bob's rights
            status = status_with(hub, method, path, {key: value})
            assert status in (302, 401, 403, 404), (key, value[:12], method, path, status)
    assert alice_kernel in [k["id"] for k in hub.server_api("alice", "GET", "kernels")[1]]
    assert view["servers"] and all(s["reachable"] for s in view["servers"])


def test_a_user_or_service_without_the_access_scope_gets_403(hub):
    bob = hub.user_token("bob")
    status, body = hub.fleet(bob)
    assert status == 403
    assert "access:services!service=active-sessions" in body["error"]
    for path in ("", "metrics"):
        assert hub.api("GET", path, token=bob, base=SERVICE_BASE)[0] == 403, path
    # A service with no role that reaches this one.
    assert hub.fleet(hub.other_service_token)[0] == 403


def test_a_role_opens_the_sessions_and_the_access_scope_the_figures(hub):
    # carol's group has the fleet-admins role; prometheus only the access scope.
    status, view = hub.fleet(hub.user_token("carol"))
    assert status == 200 and {u["name"] for u in view["users"]} == set(USERS)
    assert all("sessions" in s for s in view["servers"])
    status, view = hub.fleet(hub.prometheus_token)
    assert status == 200 and {u["name"] for u in view["users"]} == set(USERS)
    assert not any("sessions" in s or "ended" in s for s in view["servers"])
    # As Prometheus sends its credentials: "Authorization: Bearer ...".
    request = urllib.request.Request(
        hub.url + SERVICE_BASE + "metrics",
        headers={"Authorization": f"Bearer {hub.prometheus_token}"},
    )
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
        if metric(text, "jupyter_fleet_kernels", user="alice", server_name="", status="busy") == 1:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.5)
    for user in USERS:
        assert metric(text, "jupyter_fleet_server_up", user=user, server_name="") == 1
        assert metric(text, "jupyter_fleet_memory_bytes", user=user, server_name="") > 0
    assert metric(text, "jupyter_fleet_kernels", user="bob", server_name="", status="busy") is None
    # The same figures as the JSON view, user by user.
    view = hub.fleet(admin)[1]
    for line in view["users"]:
        kernels = sum(
            metric(text, "jupyter_fleet_kernels", user=line["name"], server_name="", status=status)
            or 0
            for status in ("ready", "idle", "busy", "starting", "offline")
        )
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
    # Which URL was tried, so an admin can see a wrong proxy address at once.
    assert f"{hub.url}/user/carol/api/active-sessions" in by_user["carol"]["error"]
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
    alice_before = {
        s["session_id"]: s["status"]
        for s in hub.server_api("alice", "GET", "active-sessions")[1]["sessions"]
    }
    carol_before = {
        s["session_id"] for s in hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]
    }
    idle = [k for k, status in alice_before.items() if status in ("idle", "ready")]
    busy = [k for k, status in alice_before.items() if status == "busy"]
    assert idle and busy and carol_before
    path = "api/fleet/users/alice/shutdown-idle"
    base = "/services/active-sessions/"
    # Bad input changes nothing.
    for body in ({"min_idle_seconds": -1}, {"min_idle_seconds": "5"}, {"other": 1}, [1]):
        status, answer = hub.api("POST", path, body, token=admin, base=base)
        assert status == 400 and answer["error"], (body, answer)
    assert (
        hub.api(
            "POST",
            "api/fleet/users/nobody/shutdown-idle",
            {"min_idle_seconds": 0},
            token=admin,
            base=base,
        )[0]
        == 404
    )
    assert (
        hub.api("POST", path, {"min_idle_seconds": 0}, token=hub.user_token("bob"), base=base)[0]
        == 403
    )
    # Prometheus's token may read the fleet, not act on it.
    assert (
        hub.api("POST", path, {"min_idle_seconds": 0}, token=hub.prometheus_token, base=base)[0]
        == 403
    )
    status, answer = hub.api("POST", path, {"min_idle_seconds": 0}, token=admin, base=base)
    assert status == 200 and sorted(answer["shut_down"]) == sorted(idle) and not answer["failed"]
    alice_after = {
        s["session_id"] for s in hub.server_api("alice", "GET", "active-sessions")[1]["sessions"]
    }
    assert alice_after == set(busy)
    assert {
        s["session_id"] for s in hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]
    } == carol_before
    assert "admin shut down 1 idle kernel(s) of alice" in hub.log.read_text()
    # The fleet shows why the kernel went: alice's server's ended kernels.
    view = fleet_until(
        hub,
        admin,
        lambda v: any(
            e["session_id"] == idle[0]
            for s in v["servers"]
            if s["user"] == "alice"
            for e in s["ended"]
        ),
    )
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

    carol = [
        s["session_id"] for s in hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]
    ]
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
            by_memory = [u["name"] for u in sorted(view["users"], key=lambda u: -u["memory_bytes"])]
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
            assert [
                s["session_id"]
                for s in hub.server_api("carol", "GET", "active-sessions")[1]["sessions"]
            ] == carol
            # A cookie-authenticated POST without the page's XSRF token is refused.
            status = page.evaluate("""async () => (await fetch(
                'api/fleet/users/carol/shutdown-idle',
                {method: 'POST', body: '{"min_idle_seconds": 0}'})).status""")
            assert status == 403
            shut.click()
            page.fill("#confirm-minutes", "0")
            page.click("#confirm-go")
            expect(page.locator("#message")).to_have_text("Shut down 1 of carol's kernels.")
            hub.wait(
                lambda: not hub.server_api("carol", "GET", "active-sessions")[1]["sessions"],
                30,
                "carol's kernel to go",
            )
            assert "admin shut down 1 idle kernel(s) of carol" in hub.log.read_text()
        finally:
            browser.close()


def test_a_users_kernels_lost_with_their_server_show_after_it_is_back(hub):
    """bob's server (stopped above) runs again with a kernel, is SIGKILLed and
    started anew: the fleet shows that kernel ended as `server_lost`, from
    his server's own store, across the restart."""
    admin = hub.user_token("admin")
    hub.start_server("bob")
    (kernel_id,) = start_kernels(hub, "bob", 1)
    all_ready(hub, "bob", [kernel_id])
    (session,) = hub.server_api("bob", "GET", "active-sessions")[1]["sessions"]
    store = hub.home("bob") / ".local" / "share" / "jupyter" / "active_sessions.db"

    def written() -> bool:
        if not store.exists():
            return False
        with sqlite3.connect(store, timeout=30) as db:
            try:
                rows = db.execute("SELECT 1 FROM kernels WHERE kernel_id = ?", (kernel_id,))
                return rows.fetchone() is not None
            except sqlite3.OperationalError:
                return False

    hub.wait(written, 30, "bob's kernel in his store")
    os.kill(hub.server_pid("bob"), signal.SIGKILL)
    os.kill(session["process_id"], signal.SIGKILL)  # (it would exit on its own, later)
    hub.stop_server("bob")
    hub.start_server("bob")
    view = fleet_until(
        hub,
        admin,
        lambda v: any(
            e["session_id"] == kernel_id
            for srv in v["servers"]
            if srv["user"] == "bob"
            for e in srv["ended"]
        ),
    )
    (bob,) = [srv for srv in view["servers"] if srv["user"] == "bob"]
    (lost,) = [e for e in bob["ended"] if e["session_id"] == kernel_id]
    assert lost["reason"] == "server_lost"
    # (At least this one: the Hub may have had to kill bob's server when it
    # stopped it earlier in this module, and his kernels then were lost too.)
    assert bob["summary"]["ended_by_reason"].get("server_lost", 0) >= 1, bob["summary"]


# -- a hostile user's server -------------------------------------------------------
# mallory runs her own extension in place of this one (tests/hub_users/
# hostile_ext.py): its routes answer whatever ~/answer.json says. alice's and
# carol's servers are ordinary; they must be shown right whatever mallory says.

HOSTILE_HUB = ["alice", "carol", "mallory"]
FORGED = "[W 2026-12-01 00:00:00.000 JupyterHub FORGED]"
KERNEL = str(uuid.uuid4())  # an id of mallory's that is shaped right
# Short, so a refused token is replaced after 2 s (a sixtieth of it).
TOKEN_LIFETIME = 120


def mallory_says(
    hub: JupyterHub,
    sessions: object,
    ended: object = '{"sessions": []}',
    redirect_delete: str | None = None,
    status: int | None = None,
) -> None:
    """What mallory's routes answer: raw text, or {"head", "repeat", "times",
    "tail"} for a body too large to keep in a file; or only `status`."""
    (hub.home("mallory") / "answer.json").write_text(
        json.dumps(
            {
                "sessions": sessions,
                "ended": ended,
                "redirect_delete": redirect_delete,
                "status": status,
            }
        )
    )


@pytest.fixture(scope="module")
def hostile():
    hub = JupyterHub(
        HOSTILE_HUB + ["admin"],
        timeout=TIMEOUT,
        min_interval=0,
        service_args=(f"--FleetService.token_lifetime={TOKEN_LIFETIME}",),
    )
    user_config(hub, "mallory", "hostile_config.py", "hostile_ext.py")
    mallory_says(hub, '{"sessions": []}')
    try:
        for user in HOSTILE_HUB:
            hub.start_server(user)
        kernels = {"alice": start_kernels(hub, "alice", 2), "carol": start_kernels(hub, "carol", 1)}
        for user, ids in kernels.items():
            all_ready(hub, user, ids)
        yield hub, kernels
    finally:
        hub.stop()


def strict(text: str) -> object:
    """JSON as a browser's JSON.parse takes it: no NaN, no Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def strict_get(hub: JupyterHub, path: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(
        hub.url + SERVICE_BASE + path, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read().decode()


def big(head: str, repeat: str, times: int, tail: str) -> dict:
    return {"head": head, "repeat": repeat, "times": times, "tail": tail}


def session_with(**fields: object) -> str:
    return json.dumps({"sessions": [{"session_id": KERNEL, **fields}]})


# (what mallory's server answers, what the fleet then shows of it)
HOSTILE_ANSWERS = {
    "strings where numbers go": (
        session_with(
            status=7,
            display_name={"a": 1},
            idle_seconds="forever",
            busy_seconds=[1],
            connections="many",
            execution_queue="full",
            notebook_path=["x"],
            resource_usage={"memory_bytes": "lots", "cpu_percent": "hot"},
            last_exit={"reason": "eaten", "signal": "nine", "ended": "yesterday"},
        ),
        "shaped",
    ),
    "NaN and Infinity": (
        '{"sessions": [{"session_id": "%s", "status": "busy", "idle_seconds": -Infinity, '
        '"busy_seconds": 1e999, "connections": NaN, "resource_usage": '
        '{"memory_bytes": Infinity, "cpu_percent": NaN}}]}' % KERNEL,
        "shaped",
    ),
    "numbers out of range": (
        session_with(
            status="idle",
            idle_seconds=-5,
            connections=10**30,
            resource_usage={"memory_bytes": 2**70, "cpu_percent": 1e300},
        ),
        "shaped",
    ),
    "100,000-deep nesting": (
        big('{"sessions": ', "[", 100_000, "]" * 100_000 + "}"),
        "nested deeper than",
    ),
    "3 MB of empty lists": (big('{"sessions": [', "[],", 1_000_000, "[]]}"), "more than"),
    "a 20 MB body": (
        big(
            '{"sessions": [{"session_id": "%s", "display_name": "' % KERNEL,
            "x" * 1024,
            20 * 1024,
            '"}]}',
        ),
        "larger than",
    ),
    "ids with newlines and ../": (
        json.dumps(
            {
                "sessions": [
                    {"session_id": f"abc\n{FORGED} admin shut down every kernel of alice"},
                    {"session_id": f"../../alice/api/kernels/{KERNEL}"},
                ]
            }
        ),
        "left out",
    ),
    "not a list": ('{"sessions": "many"}', "not a list of sessions"),
    # 1 MiB of \" after a quote: the scanner that found the nesting restarted
    # at every quote, and took hours of the service's event loop over it.
    "a string that never closes": (
        big('{"sessions": [{"session_id": "%s", "display_name": "' % KERNEL, '\\"', 2**19, ""),
        "not JSON",
    ),
    "a number of 5,000 digits": ('{"sessions": [%s]}' % ("9" * 5000), "not JSON"),
}


@pytest.mark.parametrize("case", list(HOSTILE_ANSWERS))
def test_a_hostile_answer_marks_only_that_server(hostile, case):
    hub, kernels = hostile
    answer, expected = HOSTILE_ANSWERS[case]
    mallory_says(
        hub,
        answer,
        ended=json.dumps(
            {"sessions": [{"session_id": KERNEL, "reason": "x" * 100_000, "signal": 1e300}]}
        ),
    )
    admin = hub.user_token("admin")
    alice_before = sorted(k["id"] for k in hub.server_api("alice", "GET", "kernels")[1])

    status, text = strict_get(hub, "api/fleet", admin)
    assert status == 200
    view = strict(text)
    by_user = {s["user"]: s for s in view["servers"]}
    for user, ids in kernels.items():
        assert by_user[user]["reachable"], by_user[user]
        assert sorted(s["session_id"] for s in by_user[user]["sessions"]) == sorted(ids)
        assert user_line(view, user)["kernels"] == len(ids)
    mallory = by_user["mallory"]
    if expected == "shaped":
        assert mallory["reachable"] and not mallory["invalid"]
        [kernel] = mallory["sessions"]
        assert kernel["session_id"] == KERNEL
        for figure in ("idle_seconds", "busy_seconds", "connections"):
            assert kernel[figure] is None, (figure, kernel)
        assert kernel["resource_usage"] == {"memory_bytes": None, "cpu_percent": None}
        assert kernel["status"] in ("unknown", "busy", "idle")
        assert [e["reason"] for e in mallory["ended"]] == ["other"]
        assert mallory["ended"][0]["signal"] is None
        assert user_line(view, "mallory")["memory_bytes"] == 0
    elif expected == "left out":
        # Her records that cannot be shaped are left out and counted; her
        # server stays reachable, and those of the others are unchanged.
        assert mallory["reachable"] and not mallory["invalid"], mallory
        assert mallory["sessions"] == [] and mallory["skipped"] == 2
    else:
        assert not mallory["reachable"] and mallory["invalid"]
        assert expected in mallory["error"], mallory["error"]
        assert mallory["sessions"] == [] and user_line(view, "mallory")["unreachable"] == 1
    assert len(text) < 200_000  # nothing of a huge answer passed through

    status, text = strict_get(hub, "metrics", admin)
    assert status == 200
    assert metric(text, "jupyter_fleet_server_up", user="alice", server_name="") == 1
    assert metric(text, "jupyter_fleet_server_up", user="mallory", server_name="") == (
        1 if expected in ("shaped", "left out") else 0
    )
    assert metric(text, "jupyter_fleet_kernels", user="carol", server_name="", status="ready") == 1
    assert strict_get(hub, "", admin)[0] == 200  # the page
    status, text = strict_get(hub, "api/fleet", hub.prometheus_token)  # figures only
    assert status == 200 and not any("sessions" in s for s in strict(text)["servers"])

    assert sorted(k["id"] for k in hub.server_api("alice", "GET", "kernels")[1]) == alice_before
    log = hub.log.read_text()
    assert not [line for line in log.splitlines() if line.startswith(FORGED)]
    if case.startswith("ids"):
        # The service said why, with the newline escaped.
        assert "not a UUID: abc\\n" + FORGED in log


def test_a_date_beyond_the_calendar_is_no_date(hostile):
    """Year 9999 at -05:00 is a valid ISO date that no UTC datetime can hold:
    it made the whole view 500 for every admin (an OverflowError nothing
    caught), and nothing was cached, so every refresh asked every server
    again. It is shaped to null like any other date out of range."""
    hub, kernels = hostile
    beyond = "9999-12-31T23:59:59-05:00"
    mallory_says(
        hub,
        session_with(status="idle", last_exit={"reason": "killed", "signal": 9, "ended": beyond}),
        ended=json.dumps(
            {
                "sessions": [
                    {"session_id": KERNEL, "reason": "exited", "ended": beyond},
                    {
                        "session_id": KERNEL,
                        "reason": "exited",
                        "ended": "0001-01-01T00:00:00+05:00",
                    },
                ]
            }
        ),
    )
    admin = hub.user_token("admin")
    status, text = strict_get(hub, "api/fleet", admin)
    assert status == 200
    view = strict(text)
    mallory = next(s for s in view["servers"] if s["user"] == "mallory")
    assert mallory["reachable"] and not mallory["invalid"], mallory
    [kernel] = mallory["sessions"]
    assert kernel["last_exit"]["ended"] is None and kernel["last_exit"]["signal"] == 9
    assert [e["ended"] for e in mallory["ended"]] == [None, None]
    alice = next(s for s in view["servers"] if s["user"] == "alice")
    assert sorted(s["session_id"] for s in alice["sessions"]) == sorted(kernels["alice"])
    status, text = strict_get(hub, "metrics", admin)
    assert status == 200
    assert metric(text, "jupyter_fleet_server_up", user="mallory", server_name="") == 1


def test_a_redirect_from_a_users_server_is_not_followed(hostile):
    """mallory lists alice's kernel as her own idle one, and answers the
    admin's DELETE of it with a 307 to alice's server: alice's kernel stays."""
    hub, kernels = hostile
    victim = kernels["alice"][0]
    admin = hub.user_token("admin")
    for where in (
        f"/user/alice/api/kernels/{victim}",
        f"{hub.url}/user/alice/api/kernels/{victim}",
    ):
        mallory_says(
            hub,
            session_with(session_id=victim, status="idle", idle_seconds=10**6),
            redirect_delete=where,
        )
        status, answer = hub.api(
            "POST",
            "api/fleet/users/mallory/shutdown-idle",
            {"min_idle_seconds": 0},
            token=admin,
            base=SERVICE_BASE,
        )
        assert status == 200, answer
        assert answer["shut_down"] == [] and "redirect, not followed" in answer["failed"][victim]
        assert victim in [k["id"] for k in hub.server_api("alice", "GET", "kernels")[1]]


def test_the_page_draws_a_hostile_server_among_the_others(hostile):
    from playwright.sync_api import expect, sync_playwright

    hub, kernels = hostile
    mallory_says(hub, HOSTILE_ANSWERS["strings where numbers go"][0])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            hub.log_in(page, "admin")
            page.goto(hub.service_page())
            expect(page.locator("tr.fleet-user")).to_have_count(3, timeout=30_000)
            for user in HOSTILE_HUB:
                page.click(f"tr.fleet-user[data-user={user}] .fleet-expand")
            details = page.locator("tr.fleet-details[data-user=mallory]")
            expect(details.locator("tr[data-kernel]")).to_have_count(1)
            shown = details.inner_text()
            assert "null" not in shown and "NaN" not in shown and "undefined" not in shown
            expect(page.locator("tr.fleet-details[data-user=alice] tr[data-kernel]")).to_have_count(
                2
            )
            assert not errors
        finally:
            browser.close()


def service_tokens(hub: JupyterHub, user: str) -> list[dict]:
    """The tokens the service holds of `user`'s, as the Hub lists them."""
    return [
        t
        for t in hub.api("GET", f"users/{user}/tokens")[1]["api_tokens"]
        if (t.get("note") or "").startswith("active-sessions service")
    ]


def minted(hub: JupyterHub, user: str) -> int:
    """How many tokens of `user`'s the service has asked for, as the Hub logs it."""
    return hub.log.read_text().count(f"Service active-sessions requested API token for {user}")


def test_a_refused_token_is_replaced_but_not_at_every_gathering(hostile):
    """The token mallory's server receives is hers, scoped to her servers and
    short-lived. When her server refuses it (as it would one she revoked,
    once its cache of the Hub's answer expires), the service revokes it and
    tries a new one, and does so again only after a sixtieth of a token's
    life: a server refusing every token cannot make it mint one a gathering."""
    hub, kernels = hostile
    admin = hub.user_token("admin")
    mallory_says(hub, '{"sessions": []}')
    view = hub.fleet(admin)[1]
    assert next(s for s in view["servers"] if s["user"] == "mallory")["reachable"]
    [held] = service_tokens(hub, "mallory")
    # Her servers, and reading her own name and groups (the Hub adds those to every token).
    assert sorted(held["scopes"]) == [
        "access:servers!user=mallory",
        "read:users:groups!user=mallory",
        "read:users:name!user=mallory",
    ]
    assert held["expires_at"]
    before = minted(hub, "mallory")
    time.sleep(TOKEN_LIFETIME / 60)
    mallory_says(hub, "", status=403)
    for _ in range(3):
        view = hub.fleet(admin)[1]
        mallory = next(s for s in view["servers"] if s["user"] == "mallory")
        assert not mallory["reachable"] and mallory["error"].startswith("HTTP 403")
    # The refused token revoked, one more minted, and no more: refused again too soon.
    hub.wait(
        lambda: (
            minted(hub, "mallory") == before + 1
            and hub.api("GET", f"users/mallory/tokens/{held['id']}")[0] == 404
        ),
        30,
        "the refused token to be revoked and one more minted",
    )
    time.sleep(TOKEN_LIFETIME / 60)
    hub.fleet(admin)
    hub.wait(lambda: minted(hub, "mallory") == before + 2, 30, "one more after a while")
    assert minted(hub, "mallory") == before + 2
    mallory_says(hub, '{"sessions": []}')
    assert all(s["reachable"] for s in hub.fleet(admin)[1]["servers"])
