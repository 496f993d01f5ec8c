"""Who may use the fleet service, and the tokens it mints, on a real
JupyterHub. The scopes of the token a request carries decide, not its
owner's admin flag or groups: an admin's token scoped down gets figures
only and cannot shut kernels down; a user whose role grants only the
service's access scope sees figures; a service whose role grants shutting
down may. A user's token the service replaces, and every one it holds when
it stops, is revoked on the Hub."""

from __future__ import annotations

import json
import secrets
import signal
import time
import urllib.error
import urllib.request
from datetime import datetime
from email.message import Message

import psutil
import pytest

from hub_process import JupyterHub
from test_hub import CHROMIUM, SERVICE_BASE, all_ready, service_tokens, start_kernels, user_config

ACCESS = "access:services!service=active-sessions"
SESSIONS = "custom:active-sessions:read:sessions"
SHUTDOWN = "custom:active-sessions:shutdown:kernels"
CULLER_TOKEN = secrets.token_hex(16)
# Short, so the service renews a user's token within the module (at 4/5 of it).
TOKEN_LIFETIME = 120

# dave may use the service, nothing more; a "culler" service may shut kernels down.
EXTRA = f"""
c.JupyterHub.load_groups = {{"auditors": {{"users": ["carol"]}}, "viewers": {{"users": ["dave"]}}}}
c.JupyterHub.services.append({{"name": "culler", "api_token": "{CULLER_TOKEN}"}})
c.JupyterHub.load_roles += [
    {{"name": "fleet-viewers", "groups": ["viewers"], "scopes": ["{ACCESS}"]}},
    {{"name": "fleet-culler", "services": ["culler"], "scopes": ["{ACCESS}", "{SHUTDOWN}"]}},
]
"""


@pytest.fixture(scope="module")
def hub():
    hub = JupyterHub(
        ["alice", "bob", "carol", "dave", "admin"],
        min_interval=0,
        service_args=(f"--FleetService.token_lifetime={TOKEN_LIFETIME}",),
        extra_config=EXTRA,
    )
    # bob's own server config writes down every credential that reaches it.
    user_config(hub, "bob", "spy_config.py")
    try:
        hub.start_server("alice")
        hub.start_server("bob")
        all_ready(hub, "alice", start_kernels(hub, "alice", 1))
        yield hub
    finally:
        hub.stop()


def admin_token(hub: JupyterHub, *scopes: str) -> str:
    """A token of the Hub's admin's, scoped down to `scopes`, as an admin
    makes one on the Hub's token page."""
    status, body = hub.api("POST", "users/admin/tokens", {"scopes": list(scopes)})
    assert status == 201, body
    return body["token"]


def shut_down(hub: JupyterHub, token: str) -> tuple[int, object]:
    """Asks to shut down alice's kernels idle for 30 years: allowed or not,
    none is."""
    return hub.api(
        "POST",
        "api/fleet/users/alice/shutdown-idle",
        {"min_idle_seconds": 10**9},
        token=token,
        base=SERVICE_BASE,
    )


def has_sessions(view: dict) -> bool:
    assert view["servers"], view
    return all("sessions" in s and "ended" in s for s in view["servers"])


def test_an_admins_token_scoped_to_the_service_gets_figures_only(hub):
    token = admin_token(hub, ACCESS)
    status, view = hub.fleet(token)
    assert status == 200 and [u["name"] for u in view["users"]] == ["alice", "bob"]
    assert not any("sessions" in s or "ended" in s for s in view["servers"])
    assert view["users"][0]["kernels"] == 1  # the figures are there
    status, answer = shut_down(hub, token)
    assert status == 403 and SHUTDOWN in answer["error"]
    assert hub.api("GET", "metrics", token=token, base=SERVICE_BASE)[0] == 200


def test_each_custom_scope_opens_its_own_part(hub):
    reader = admin_token(hub, ACCESS, SESSIONS)
    status, view = hub.fleet(reader)
    assert status == 200 and has_sessions(view)
    assert shut_down(hub, reader)[0] == 403
    closer = admin_token(hub, ACCESS, SHUTDOWN)
    status, view = hub.fleet(closer)
    assert status == 200 and not has_sessions(view)
    status, answer = shut_down(hub, closer)
    assert status == 200 and answer["shut_down"] == [], answer
    # The whole role, as the admin's unscoped token carries it.
    everything = hub.user_token("admin")
    assert has_sessions(hub.fleet(everything)[1]) and shut_down(hub, everything)[0] == 200


def test_without_the_access_scope_nothing_even_with_the_others(hub):
    token = admin_token(hub, SESSIONS, SHUTDOWN)
    status, body = hub.fleet(token)
    assert status == 403 and ACCESS in body["error"]
    assert shut_down(hub, token)[0] == 403
    # A token of the admin's for the Hub's own API only, as admins make them.
    assert hub.fleet(admin_token(hub, "admin:users"))[0] == 403


def test_a_filtered_custom_scope_grants_nothing(hub):
    """Only an unfiltered grant counts: the service does not resolve users
    and groups the way the Hub does."""
    token = admin_token(hub, ACCESS, f"{SESSIONS}!user=alice", f"{SHUTDOWN}!user=alice")
    status, view = hub.fleet(token)
    assert status == 200 and not has_sessions(view)
    assert shut_down(hub, token)[0] == 403


def test_a_user_with_the_access_scope_only_sees_figures(hub):
    dave = hub.user_token("dave")
    status, view = hub.fleet(dave)
    assert status == 200 and not has_sessions(view)
    assert shut_down(hub, dave)[0] == 403
    status, page = hub.api("GET", "", token=dave, base=SERVICE_BASE)
    assert status == 200 and 'data-read-sessions="no"' in page and SESSIONS in page
    # carol's group has the fleet-admins role: everything, not being an admin.
    carol = hub.user_token("carol")
    assert has_sessions(hub.fleet(carol)[1]) and shut_down(hub, carol)[0] == 200


def test_a_service_whose_role_grants_shutting_down_may(hub):
    status, answer = shut_down(hub, CULLER_TOKEN)
    assert status == 200 and answer["shut_down"] == [], answer
    status, view = hub.fleet(CULLER_TOKEN)
    assert status == 200 and not has_sessions(view)


def test_the_page_shows_figures_only_to_a_user_with_the_access_scope(hub):
    """dave in a browser: the Hub's OAuth gives the page a token with what
    his roles grant of what the service asks for; the page draws the rows,
    without kernels to expand or a shut-down button."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            hub.log_in(page, "dave")
            page.goto(hub.service_page())
            expect(page.locator("tr.fleet-user")).to_have_count(2, timeout=30_000)
            expect(page.locator("#figures-only")).to_contain_text(SESSIONS)
            expect(page.locator(".fleet-expand")).to_have_count(0)
            expect(page.locator("button", has_text="Shut down idle")).to_have_count(0)
            # The page's own token: figures only, and no shutting down.
            answer = page.evaluate("""async () => {
                const headers = {'X-XSRFToken': document.body.dataset.xsrf};
                const view = await (await fetch('api/fleet', {headers})).json();
                const post = await fetch('api/fleet/users/alice/shutdown-idle', {
                    method: 'POST', body: '{"min_idle_seconds": 0}', headers});
                return {servers: view.servers, status: post.status, said: await post.text()};
            }""")
            assert answer["status"] == 403 and SHUTDOWN in answer["said"]
            assert not any("sessions" in s for s in answer["servers"])
            assert not errors
        finally:
            browser.close()
    kernels = hub.server_api("alice", "GET", "kernels")[1]
    assert len(kernels) == 1


def test_the_page_shows_everything_to_the_fleet_admins(hub):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            hub.log_in(page, "admin")
            page.goto(hub.service_page())
            expect(page.locator("tr.fleet-user")).to_have_count(2, timeout=30_000)
            expect(page.locator("#figures-only")).to_have_count(0)
            page.click("tr.fleet-user[data-user=alice] .fleet-expand")
            expect(page.locator("tr.fleet-details tr[data-kernel]")).to_have_count(1)
            expect(page.locator("button", has_text="Shut down idle")).to_have_count(2)
        finally:
            browser.close()


# -- framing -----------------------------------------------------------------------


def headers_of(hub: JupyterHub, path: str, token: str) -> tuple[int, Message]:
    """The status and headers (any case: the proxy lowercases them)."""
    request = urllib.request.Request(
        hub.url + SERVICE_BASE + path, headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers


def test_every_answer_forbids_framing(hub):
    admin = hub.user_token("admin")
    page = hub.api("GET", "", token=admin, base=SERVICE_BASE)[1]
    static = page[page.index("static/fleet.js") : page.index('"', page.index("static/fleet.js"))]
    for path, token, expected in (
        ("", admin, 200),
        ("", hub.user_token("bob"), 403),  # the refusal too
        ("api/fleet", admin, 200),
        ("metrics", admin, 200),
        ("theme/light.css", admin, 200),
        (static, admin, 200),
    ):
        status, headers = headers_of(hub, path, token)
        assert status == expected, (path, status)
        assert headers.get("Content-Security-Policy") == "frame-ancestors 'none'", path
        assert headers.get("X-Frame-Options") == "DENY", path


def test_a_page_on_the_hubs_origin_cannot_frame_the_service(hub):
    """Without subdomain_host, bob's server serves pages on the Hub's own
    origin: one framing the service page, opened by a logged-in admin,
    gets no page to overlay (clickjacking)."""
    from playwright.sync_api import expect, sync_playwright

    evil = f"{hub.url}/user/bob/files/evil.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            hub.log_in(page, "admin")
            page.goto(hub.service_page())
            expect(page.locator("tr.fleet-user")).to_have_count(2, timeout=30_000)
            # As bob's server would serve it (the browser never asks it).
            page.route(
                evil,
                lambda route: route.fulfill(
                    content_type="text/html",
                    body=f'<iframe id="fleet" src="{hub.service_page()}"></iframe>',
                ),
            )
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text))
            with page.expect_response(hub.service_page()) as framed:
                page.goto(evil, wait_until="load")
            assert framed.value.status == 200  # the service answered: the browser refused it
            hub.wait(
                lambda: any("frame-ancestors" in m for m in refused),
                30,
                "Chromium to refuse the frame",
            )
            [frame] = [f for f in page.frames if f != page.main_frame]
            assert frame.evaluate("document.querySelector('#fleet') === null")
        finally:
            browser.close()


# -- the users' tokens the service mints -------------------------------------------


def heard_from_the_service(hub: JupyterHub, user: str) -> list[str]:
    """The tokens the service sent `user`'s server (tests/hub_users/spy_config.py
    wrote down every request's credentials), in the order heard."""
    ours = f"token {hub.own_token(user)}"
    heard: list[str] = []
    for line in (hub.home(user) / "credentials.jsonl").read_text().splitlines():
        seen = json.loads(line)
        said = seen["authorization"] or ""
        if said.startswith("token ") and said != ours and said[6:] not in heard:
            heard.append(said[6:])
    return heard


def cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # gone since it was listed
        return ""


def works(hub: JupyterHub, token: str) -> bool:
    """Whether the Hub still takes `token` (its own API: who am I)."""
    status, _ = hub.api("GET", "user", token=token)
    assert status in (200, 403), status
    return status == 200


def test_a_renewed_token_is_revoked_before_it_would_expire(hub):
    """The service renews bob's token at 4/5 of its life: the one it
    replaced stops working at once, not when it would have expired."""
    admin = hub.user_token("admin")
    hub.fleet(admin)
    old = heard_from_the_service(hub, "bob")[-1]
    [listed] = service_tokens(hub, "bob")
    expires = datetime.fromisoformat(listed["expires_at"].replace("Z", "+00:00")).timestamp()
    assert works(hub, old)
    # Gatherings, until one carries a new token to bob's server.
    hub.wait(
        lambda: hub.fleet(admin)[0] == 200 and heard_from_the_service(hub, "bob")[-1] != old,
        TOKEN_LIFETIME + 60,
        "the service to renew bob's token",
    )
    new = heard_from_the_service(hub, "bob")[-1]
    while works(hub, old):
        time.sleep(0.2)
    assert time.time() < expires, "the replaced token worked until it expired"
    assert works(hub, new)
    assert [t["id"] for t in service_tokens(hub, "bob")] != [listed["id"]]
    assert len(service_tokens(hub, "bob")) == 1


def test_the_service_revokes_every_token_it_holds_when_it_stops(hub):
    """SIGTERM, as the Hub (after SIGINT) or an init system stops it: the
    service revokes the users' tokens before it exits; the Hub then starts
    it again, as it does a managed service that exited."""
    hub.fleet(hub.user_token("admin"))
    held = heard_from_the_service(hub, "bob")[-1]
    assert works(hub, held)
    assert service_tokens(hub, "alice") and service_tokens(hub, "bob")
    [service] = [p for p in hub._descendants() if "jupyter_session_ext.hub" in cmdline(p)]
    service.send_signal(signal.SIGTERM)
    service.wait(timeout=60)  # (not our child: psutil cannot say its status)
    assert not works(hub, held)
    assert service_tokens(hub, "alice") == [] and service_tokens(hub, "bob") == []
    hub.wait(lambda: hub.fleet(hub.user_token("admin"))[0] == 200, 120, "the service back")
