"""The fleet service on a JupyterHub with subdomain_host (as the operators'
docs recommend): every user's server and the service on a host of its own.
The Hub then gives each server's url as a whole URL; the service reaches it
through the proxy, naming its host. In Chromium (which resolves *.hub.test
to the proxy here), the page works across the Hub's OAuth, and a page on a
user's server, on that user's own origin, cannot read what the service
answers the admin."""

from __future__ import annotations

import pytest

from hub_process import SERVICE, JupyterHub
from test_hub import CHROMIUM, all_ready, start_kernels

SERVICE_BASE = f"/services/{SERVICE}/"
# Chromium's own resolver: the Hub's host and every subdomain, to the proxy.
RESOLVE = "MAP hub.test 127.0.0.1,MAP *.hub.test 127.0.0.1"


@pytest.fixture(scope="module")
def hub():
    hub = JupyterHub(["alice", "admin"], min_interval=0, subdomains=True)
    try:
        hub.start_server("alice")
        kernels = start_kernels(hub, "alice", 1)
        all_ready(hub, "alice", kernels)
        yield hub
    finally:
        hub.stop()


def test_the_fleet_reaches_servers_on_their_own_hosts(hub):
    (kernel,) = [k["id"] for k in hub.server_api("alice", "GET", "kernels")[1]]
    admin = hub.user_token("admin")
    status, view = hub.fleet(admin)
    assert status == 200, view
    [server] = view["servers"]
    # The Hub gives the whole URL; the service went through the proxy to it.
    assert server["url"].startswith(f"http://{hub.host('alice')}/user/alice/")
    assert server["reachable"], server["error"]
    assert [s["session_id"] for s in server["sessions"]] == [kernel]
    status, answer = hub.api(
        "POST",
        "api/fleet/users/alice/shutdown-idle",
        {"min_idle_seconds": 0},
        base=SERVICE_BASE,
        headers={"Authorization": f"token {admin}", "Host": hub.host(SERVICE, "service")},
    )
    assert status == 200 and answer["shut_down"] == [kernel], answer
    assert hub.server_api("alice", "GET", "kernels")[1] == []


def test_the_page_on_its_own_host_and_a_users_page_beside_it(hub):
    from playwright.sync_api import expect, sync_playwright

    all_ready(hub, "alice", start_kernels(hub, "alice", 1))
    service = f"http://{hub.host(SERVICE, 'service')}{SERVICE_BASE}"
    evil = f"http://{hub.host('alice')}/user/alice/files/evil.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", f"--host-resolver-rules={RESOLVE}"],
        )
        try:
            page = browser.new_page()
            page.goto(f"http://{hub.domain}/hub/login")
            page.fill("#username_input", "admin")
            page.fill("#password_input", "any")
            page.click("#login_submit")
            page.wait_for_url("**/hub/**", wait_until="load")
            page.goto(service)
            expect(page.locator("tr.fleet-user[data-user=alice]")).to_have_count(1, timeout=30_000)
            page.click("tr.fleet-user[data-user=alice] .fleet-expand")
            expect(page.locator("tr.fleet-details tr[data-kernel]")).to_have_count(1)
            # A page alice's server serves, opened by the logged-in admin: on
            # her own origin, it can neither read the service's answers nor
            # see its cookies.
            page.route(
                evil, lambda route: route.fulfill(content_type="text/html", body="<p>hi</p>")
            )
            page.goto(evil)
            found = page.evaluate(
                """async (service) => {
                    let read;
                    try {
                        const answer = await fetch(service + 'api/fleet', {credentials: 'include'});
                        read = await answer.text();
                    } catch (err) {
                        read = 'refused: ' + err.message;
                    }
                    return {read, cookies: document.cookie};
                }""",
                service,
            )
            assert found["read"].startswith("refused"), found["read"][:200]
            assert (
                "active-sessions" not in found["cookies"] and "jupyterhub" not in found["cookies"]
            )
        finally:
            browser.close()
