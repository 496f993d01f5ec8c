"""Where the fleet's sessions are gathered: the Hub's list of running
single-user servers, then every server's `api/active-sessions`, fetched
concurrently with a deadline each, so a slow or dead server is shown as
unreachable and never holds up the others.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..timestamps import isoformat, utcnow

PAGINATION = "application/jupyterhub-pagination+json"


class HubError(Exception):
    """The Hub did not answer the list of servers (the whole view fails)."""


class Fleet:
    def __init__(self, hub_api_url: str, proxy_url: str, token: str,
                 timeout: float = 5.0, hub_timeout: float = 10.0,
                 max_concurrency: int = 50, min_interval: float = 0.0) -> None:
        self.hub_api_url = hub_api_url.rstrip("/") + "/"
        self.proxy_url = proxy_url.rstrip("/")
        self._token = token  # the service's own: never in a response
        self.timeout = timeout
        self.hub_timeout = hub_timeout
        self._limit = asyncio.Semaphore(max_concurrency)
        self._gathering: asyncio.Future | None = None
        # The last view and when it was gathered: served again for
        # `min_interval` s, so many readers cost the servers one round.
        self.min_interval = min_interval
        self._last: tuple[float, dict[str, Any]] | None = None

    def _request(self, url: str, timeout: float, **kw: Any) -> HTTPRequest:
        headers = {"Authorization": f"token {self._token}", **kw.pop("headers", {})}
        return HTTPRequest(url, headers=headers, connect_timeout=timeout,
                           request_timeout=timeout, **kw)

    # -- the Hub -------------------------------------------------------------------

    async def running_servers(self) -> list[dict[str, Any]]:
        """Every ready single-user server: user, server_name, url (the proxy
        path), last_activity as the Hub knows it."""
        client = AsyncHTTPClient()
        servers: list[dict[str, Any]] = []
        offset = 0
        while True:
            query = urlencode({"state": "ready", "offset": offset, "limit": 200})
            try:
                response = await client.fetch(self._request(
                    f"{self.hub_api_url}users?{query}", self.hub_timeout,
                    headers={"Accept": PAGINATION}))
            except (HTTPClientError, OSError) as err:
                raise HubError(f"the Hub's users API did not answer: {err}") from err
            page = json.loads(response.body)
            items = page["items"] if isinstance(page, dict) else page
            for user in items:
                for name, server in (user.get("servers") or {}).items():
                    if server.get("ready"):
                        servers.append({"user": user["name"], "server_name": name,
                                        "url": server["url"],
                                        "last_activity": server.get("last_activity")})
            paging = page.get("_pagination") if isinstance(page, dict) else None
            following = (paging or {}).get("next")
            if not following:
                return servers
            offset = following["offset"]

    # -- each server -------------------------------------------------------------------

    def _server_api(self, server: dict[str, Any], path: str) -> str:
        """A route of a user's server, reached through the proxy."""
        return f"{self.proxy_url}{server['url'].rstrip('/')}/api/{path}"

    def _why(self, err: BaseException) -> str:
        """What a request to a server came to, as the view shows it."""
        if isinstance(err, (asyncio.TimeoutError, TimeoutError)) or (
                isinstance(err, HTTPClientError) and err.code == 599):
            return f"timed out after {self.timeout:g} s"
        if isinstance(err, HTTPClientError):
            return f"HTTP {err.code}"
        return f"{type(err).__name__}: {err}"

    async def server_sessions(self, server: dict[str, Any]) -> dict[str, Any]:
        """`server` with its sessions and the kernels that ended there lately,
        or with `reachable: false` and why."""
        started = time.monotonic()
        base = self._server_api(server, "active-sessions")
        result = {**server, "reachable": False, "error": None, "sessions": [], "ended": []}
        async with self._limit:
            try:
                sessions, ended = await asyncio.gather(
                    self._read_list(base), self._read_list(base + "/ended", optional=True))
                result.update(reachable=True, sessions=sessions, ended=ended)
            except (HTTPClientError, asyncio.TimeoutError, TimeoutError, OSError, ValueError,
                    AttributeError) as err:
                result["error"] = self._why(err)
        result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        result["summary"] = summarize(result["sessions"], result["ended"])
        return result

    async def _read_list(self, url: str, optional: bool = False) -> list[dict[str, Any]]:
        """The `sessions` list of one of a server's routes. `optional`: a server
        with an older extension, without that route, has none (not an error)."""
        try:
            response = await asyncio.wait_for(
                AsyncHTTPClient().fetch(self._request(url, self.timeout)),
                self.timeout + 1)  # the client's own deadline, and a backstop
        except HTTPClientError as err:
            if optional and err.code == 404:
                return []
            raise
        sessions = json.loads(response.body).get("sessions")
        if not isinstance(sessions, list):
            raise ValueError("not a list of active sessions")
        return sessions

    async def shut_down_idle(self, user: str, server_name: str,
                             min_idle_seconds: int) -> dict[str, Any] | None:
        """Shut down the kernels of one user's server that are idle (or ready)
        for at least `min_idle_seconds`, through that server's own API. None
        if the user has no such running server."""
        server = next((s for s in await self.running_servers()
                       if s["user"] == user and s["server_name"] == server_name), None)
        if server is None:
            return None
        found = await self.server_sessions(server)
        if not found["reachable"]:
            return {"user": user, "server_name": server_name, "shut_down": [],
                    "error": found["error"]}
        chosen = [s["session_id"] for s in found["sessions"]
                  if s.get("status") in ("idle", "ready")
                  and int(s.get("idle_seconds") or 0) >= min_idle_seconds]
        base = self._server_api(server, "kernels/")
        self._last = None  # what follows makes it stale
        done: list[str] = []
        failed: dict[str, str] = {}
        for kernel_id in chosen:
            try:
                await AsyncHTTPClient().fetch(self._request(base + kernel_id, self.timeout,
                                                            method="DELETE"))
                done.append(kernel_id)
            except (HTTPClientError, OSError) as err:
                failed[kernel_id] = self._why(err)
        return {"user": user, "server_name": server_name, "shut_down": done,
                "failed": failed, "error": None}

    async def gather(self) -> dict[str, Any]:
        """The whole view: every running server, and a line per user. Readers
        who ask while a gathering is under way (admins' pages refreshing,
        Prometheus) share it: the servers are asked once for all of them, and
        a view younger than `min_interval` seconds is served again."""
        last = self._last
        if self._gathering is None and last is not None \
                and time.monotonic() - last[0] < self.min_interval:
            return last[1]
        if self._gathering is None:
            self._gathering = asyncio.ensure_future(self._gather())
            self._gathering.add_done_callback(self._gathered)
        return await asyncio.shield(self._gathering)

    def _gathered(self, task: asyncio.Future) -> None:
        self._gathering = None
        if not task.cancelled() and task.exception() is None:
            self._last = (time.monotonic(), task.result())

    async def _gather(self) -> dict[str, Any]:
        started = time.monotonic()
        at = isoformat(utcnow())
        servers = await self.running_servers()
        results = await asyncio.gather(*(self.server_sessions(s) for s in servers))
        return {
            "users": per_user(results),
            "servers": sorted(results, key=lambda r: (r["user"], r["server_name"])),
            "gathered": at,
            "gathered_ms": round((time.monotonic() - started) * 1000, 1),
        }


def summarize(sessions: list[dict[str, Any]],
              ended: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Kernels by status, busy ones, memory and CPU totals, longest idle; the
    kernels that ended lately by reason; `killed`: kernels whose process a
    signal the server did not send ended (the OOM killer's, say), whether
    the kernel is gone or was restarted after it."""
    by_status: dict[str, int] = {}
    killed = 0
    memory = 0
    cpu = 0.0
    idle = 0
    for s in sessions:
        status = str(s.get("status"))
        by_status[status] = by_status.get(status, 0) + 1
        usage = s.get("resource_usage") or {}
        memory += int(usage.get("memory_bytes") or 0)
        cpu += float(usage.get("cpu_percent") or 0.0)
        if status != "busy":
            idle = max(idle, int(s.get("idle_seconds") or 0))
        if (s.get("last_exit") or {}).get("reason") == "killed":
            killed += 1
    ended_by_reason: dict[str, int] = {}
    for e in ended or ():
        reason = str(e.get("reason"))
        ended_by_reason[reason] = ended_by_reason.get(reason, 0) + 1
    return {"kernels": len(sessions), "by_status": by_status, "busy": by_status.get("busy", 0),
            "memory_bytes": memory, "cpu_percent": round(cpu, 1), "max_idle_seconds": idle,
            "ended": sum(ended_by_reason.values()), "ended_by_reason": ended_by_reason,
            "killed": killed + ended_by_reason.get("killed", 0)}


def per_user(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for r in results:
        u = users.setdefault(r["user"], {"name": r["user"], "servers": 0, "unreachable": 0,
                                          "kernels": 0, "busy": 0, "memory_bytes": 0,
                                          "cpu_percent": 0.0, "max_idle_seconds": 0,
                                          "ended": 0, "killed": 0})
        u["servers"] += 1
        u["unreachable"] += 0 if r["reachable"] else 1
        s = r["summary"]
        u["kernels"] += s["kernels"]
        u["busy"] += s["busy"]
        u["memory_bytes"] += s["memory_bytes"]
        u["cpu_percent"] = round(u["cpu_percent"] + s["cpu_percent"], 1)
        u["max_idle_seconds"] = max(u["max_idle_seconds"], s["max_idle_seconds"])
        u["ended"] += s["ended"]
        u["killed"] += s["killed"]
    return sorted(users.values(), key=lambda u: u["name"])
