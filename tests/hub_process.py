"""A real JupyterHub in a subprocess for the fleet tests: configurable-http-proxy
(from npm), DummyAuthenticator, SimpleLocalProcessSpawner running
`jupyterhub-singleuser` with this extension, and the fleet service as a
managed service (`python -m jupyter_session_ext.hub`)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from kernel_websocket import KernelWebsocket
from server_process import free_port, start_and_wait, stop

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "active-sessions"

CONFIG = """
import sys
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.public_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
# Its own pid file (the default is in the working directory, shared by Hubs).
c.ConfigurableHTTPProxy.pid_file = "{dir}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{dir}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{dir}/cookie_secret"
c.JupyterHub.pid_file = "{dir}/hub.pid"
c.JupyterHub.authenticator_class = "dummy"
# Logging in (the admin, in a browser) goes to the Hub's home, not a new server.
c.JupyterHub.redirect_to_server = False
c.Authenticator.allowed_users = {users!r}
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{dir}/home/{{username}}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = [
    "--allow-root",
    "--SessionRegistry.resource_sampling_interval=0.5",
    # Kernels on Unix sockets, as the browser tests' (jupyter_server_test_config.py):
    # several servers starting kernels on a busy machine, a TCP port
    # jupyter_client chose can be taken before the kernel binds it, and the
    # kernel is gone after its restarts (docs/operators/configuration.md).
    "--KernelManager.transport=ipc",
]
# Their sockets in a short folder: a Unix socket's path has at most ~107 bytes.
c.Spawner.environment = {{
    "JUPYTER_RUNTIME_DIR": lambda spawner: "{runtime}/" + spawner.user.name,
}}
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
# What docs/operators/jupyterhub.md tells an operator to declare.
c.JupyterHub.custom_scopes = {{
    "custom:active-sessions:read:sessions": {{
        "description": "See every user's active sessions, the code they run included.",
    }},
    "custom:active-sessions:shutdown:kernels": {{
        "description": "Shut down any user's idle kernels.",
    }},
}}
c.JupyterHub.services = [
    {{"name": "{service}", "url": "http://127.0.0.1:{service_port}",
      "command": [sys.executable, "-m", "jupyter_session_ext.hub", "--timeout={timeout}",
                  "--FleetService.min_interval={min_interval}", *{service_args!r}],
      # The browser's token may carry them, for those whose roles grant them.
      "oauth_client_allowed_scopes": ["custom:active-sessions:read:sessions",
                                      "custom:active-sessions:shutdown:kernels"],
      "oauth_no_confirm": True}},
    {{"name": "test-admin", "api_token": "{admin_token}"}},
    # As a Prometheus server would scrape the fleet's metrics.
    {{"name": "prometheus", "api_token": "{prometheus_token}"}},
    # A service with no role here.
    {{"name": "other-service", "api_token": "{other_token}"}},
]
c.JupyterHub.load_groups = {{"auditors": {{"users": ["carol"]}}}}
c.JupyterHub.load_roles = [
    {{"name": "{service}", "services": ["{service}"],
      "scopes": ["list:users", "read:servers", "tokens"]}},
    {{"name": "test-admin", "services": ["test-admin"],
      "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"]}},
    # Figures only: the metrics and every server's summary.
    {{"name": "fleet-scrapers", "services": ["prometheus"],
      "scopes": ["access:services!service={service}"]}},
    # Everything, and shutting kernels down: the Hub's admin and the auditors.
    {{"name": "fleet-admins", "users": ["admin"], "groups": ["auditors"],
      "scopes": ["access:services!service={service}",
                 "custom:active-sessions:read:sessions",
                 "custom:active-sessions:shutdown:kernels"]}},
]
"""


def chp() -> str:
    """configurable-http-proxy, as jlpm installs it from package.json."""
    found = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    path = str(found) if found.exists() else shutil.which("configurable-http-proxy")
    if not path:
        raise RuntimeError("configurable-http-proxy is not installed: run jlpm install")
    return path


class JupyterHub:
    def __init__(
        self,
        users: list[str],
        timeout: float = 3.0,
        min_interval: float = 0.0,
        service_args: tuple[str, ...] = (),
        extra_config: str = "",
        subdomains: bool = False,
    ) -> None:
        """`extra_config`: lines of Hub config after ours (they win).
        `subdomains`: the Hub's subdomain_host, http://hub.test:PORT: each
        user's server and each service on a host of its own, reached at the
        proxy's address with that host named (`host`), as nothing resolves
        *.hub.test here."""
        self.dir = Path(tempfile.mkdtemp(prefix="jupyterhub-"))
        self.runtime = Path(tempfile.mkdtemp(prefix="jh", dir="/tmp"))
        (self.dir / "home").mkdir()
        for user in users:
            (self.dir / "home" / user).mkdir()
        self.proxy_port = free_port()
        self.hub_port = free_port()
        self.url = f"http://127.0.0.1:{self.proxy_port}"
        self.domain = f"hub.test:{self.proxy_port}" if subdomains else ""
        if subdomains:
            extra_config = (
                f'c.JupyterHub.subdomain_host = "http://{self.domain}"\n'
                f'c.JupyterHub.public_url = "http://{self.domain}"\n' + extra_config
            )
            service_args = (*service_args, f"--proxy-url={self.url}")
        self.admin_token = secrets.token_hex(16)
        self.prometheus_token = secrets.token_hex(16)
        self.other_service_token = secrets.token_hex(16)
        self._own_tokens: dict[str, str] = {}
        config = self.dir / "jupyterhub_config.py"
        config.write_text(
            CONFIG.format(
                proxy_port=self.proxy_port,
                hub_port=self.hub_port,
                proxy_api_port=free_port(),
                service_port=free_port(),
                chp=chp(),
                dir=self.dir,
                runtime=self.runtime,
                users=set(users),
                service=SERVICE,
                timeout=timeout,
                admin_token=self.admin_token,
                prometheus_token=self.prometheus_token,
                other_token=self.other_service_token,
                min_interval=min_interval,
                service_args=list(service_args),
            )
            + extra_config
        )
        self.log = self.dir / "hub.log"
        self.proc = start_and_wait(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            self.url + "/hub/api/",
            self.log,
            timeout=120,
        )
        self.wait(
            lambda: self.fleet_status(self.admin_token) in (200, 403),
            60,
            "the fleet service to answer",
        )

    # -- the Hub's API, as the test's admin service -------------------------------

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        base: str = "/hub/api/",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """`headers`: sent instead of the token (a credential as it was heard)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + base + path,
            data=data,
            method=method,
            headers=headers
            if headers is not None
            else {"Authorization": f"token {token or self.admin_token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                if "json" not in response.headers.get("Content-Type", "json"):
                    return response.status, raw.decode()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw.decode(errors="replace")

    def start_server(self, user: str) -> None:
        self.api("POST", f"users/{user}/server")
        self.wait(
            lambda: self.api("GET", f"users/{user}")[1]["servers"].get("", {}).get("ready"),
            120,
            f"{user}'s server",
        )

    def stop_server(self, user: str) -> None:
        self.api("DELETE", f"users/{user}/server")
        self.wait(
            lambda: not self.api("GET", f"users/{user}")[1]["servers"],
            60,
            f"{user}'s server to stop",
        )

    def server_pid(self, user: str) -> int:
        state = self.api("GET", f"users/{user}?include_stopped_servers")[1]
        return int(state["servers"][""]["state"]["pid"])

    def user_token(self, user: str) -> str:
        status, body = self.api("POST", f"users/{user}/tokens", {"note": "test"})
        assert status == 201, body
        return body["token"]

    def own_token(self, user: str) -> str:
        """One token of `user`'s, for the test's requests to their server: a
        user's server sees only its own user's credentials, the test's too."""
        if user not in self._own_tokens:
            self._own_tokens[user] = self.user_token(user)
        return self._own_tokens[user]

    def home(self, user: str) -> Path:
        """The user's home: their server's working directory, and their
        `~/.jupyter` (each user configures their own server)."""
        return self.dir / "home" / user

    # -- a user's server, through the proxy ----------------------------------------

    def server_api(self, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = None
        if self.domain:
            headers = {"Authorization": f"token {self.own_token(user)}", "Host": self.host(user)}
        return self.api(
            method,
            path,
            body,
            token=self.own_token(user),
            base=f"/user/{user}/api/",
            headers=headers,
        )

    async def kernel_websocket(self, user: str, kernel_id: str) -> KernelWebsocket:
        """A client of one of a user's kernels, through the proxy, as that user."""
        url = f"ws://127.0.0.1:{self.proxy_port}/user/{user}/api/kernels/{kernel_id}/channels"
        ws = await websocket_connect(
            HTTPRequest(url, headers={"Authorization": f"token {self.own_token(user)}"})
        )
        return KernelWebsocket(ws, v1=False)

    def host(self, name: str, kind: str = "user") -> str:
        """With `subdomains`, the host of a user's server or of a service
        (JupyterHub's default subdomain_hook)."""
        return f"{name}{'' if kind == 'user' else '--' + kind}.{self.domain}"

    def fleet_status(self, token: str) -> int:
        return self.fleet(token)[0]

    def fleet(self, token: str) -> tuple[int, Any]:
        headers = None
        if self.domain:
            headers = {"Authorization": f"token {token}", "Host": self.host(SERVICE, "service")}
        return self.api(
            "GET", "api/fleet", token=token, base=f"/services/{SERVICE}/", headers=headers
        )

    @staticmethod
    def wait(until: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if until():
                    return
            except (OSError, KeyError, TypeError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout}s for {what}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the servers through the Hub (each in its own time: a server
        shuts its kernels down), then the Hub; then whatever it started that
        is still alive, so no server or kernel outlives the test (the Hub
        gives each process 10 s of SIGINT then SIGTERM, and a Hub killed
        midway would leave its servers running)."""
        started = self._descendants()
        try:
            # The Hub lists at most 200 users a time: ask again until none is active.
            deadline = time.monotonic() + 120
            while active := self.api("GET", "users?state=active")[1]:
                for user in active:
                    for name in user.get("servers") or {}:
                        self.api(
                            "DELETE",
                            f"users/{user['name']}/servers/{name}"
                            if name
                            else f"users/{user['name']}/server",
                        )
                if time.monotonic() > deadline:
                    raise AssertionError("waited 120s for every server to stop")
                time.sleep(0.2)
        except (OSError, AssertionError, TypeError):
            pass  # the Hub is stuck or gone: what is left is killed below
        stop(self.proc, timeout=60)
        for proc in started:
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        gone, alive = psutil.wait_procs(started, timeout=10)
        for proc in alive:
            proc.kill()
        if not os.environ.get("KEEP_HUB"):
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.rmtree(self.runtime, ignore_errors=True)

    def _descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def pause(self, pid: int) -> None:
        os.kill(pid, signal.SIGSTOP)

    def resume(self, pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

    # -- in a browser (Playwright) -------------------------------------------------

    def log_in(self, page: Any, user: str) -> None:
        """Through the Hub's own login form (DummyAuthenticator: any password)."""
        page.goto(self.url + "/hub/login")
        page.fill("#username_input", user)
        page.fill("#password_input", "any")
        page.click("#login_submit")
        page.wait_for_url("**/hub/**", wait_until="load")

    def service_page(self, query: str = "") -> str:
        return f"{self.url}/services/{SERVICE}/{query}"
