"""Where the fleet's sessions are gathered: the Hub's list of running
single-user servers, then every server's `api/active-sessions`, fetched
concurrently with a deadline each, so a slow or dead server is shown as
unreachable and never holds up the others.

A user's server is the user's own process, so everything sent to it and
read from it crosses a trust boundary: it receives only a token of its own
user (`user_tokens.py`), its redirects are never followed, its answer is
read up to a size and shaped into known types (`answers.py`) before
anything else sees it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPInputError

from ..state.timestamps import isoformat, utcnow
from . import answers
from .answers import InvalidAnswer, printable
from .hub_api import HubAPI, HubError
from .user_tokens import UserTokens

MAX_ANSWER_BYTES = 5 * 1024 * 1024
_REQUIRED = object()  # a route every server with the extension has


class _Body:
    """A response body read up to `limit` bytes; past it, the connection is
    dropped (tornado closes it on an HTTPInputError) rather than read on."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0

    def __call__(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise HTTPInputError("answer too large")
        self.chunks.append(chunk)

    @property
    def too_large(self) -> bool:
        return self.size > self.limit

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


class Fleet:
    def __init__(
        self,
        hub: HubAPI,
        tokens: UserTokens,
        proxy_url: str,
        timeout: float = 5.0,
        max_concurrency: int = 50,
        min_interval: float = 0.0,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        log: logging.Logger | None = None,
    ) -> None:
        self.hub = hub
        self.tokens = tokens
        self.proxy_url = proxy_url.rstrip("/")
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self.log = log or logging.getLogger(__name__)
        self._max_concurrency = max_concurrency
        self._limit = asyncio.Semaphore(max_concurrency)
        self._http: AsyncHTTPClient | None = None
        self._gathering: asyncio.Future | None = None
        # The last view and when it was gathered: served again for
        # `min_interval` s, so many readers cost the servers one round.
        self.min_interval = min_interval
        self._last: tuple[float, dict[str, Any]] | None = None
        # What was last logged of each server's invalid answer: logged again
        # only when it changes, so one hostile server cannot flood the log.
        self._reported: dict[tuple[str, str], str] = {}

    # -- each server -------------------------------------------------------------------

    def _server_api(self, server: dict[str, Any], path: str) -> str:
        """A route of a user's server, reached through the proxy. With the
        Hub's subdomain_host, its url is a whole URL: its path here, its host
        in the Host header the proxy routes by (`_fetch`)."""
        return f"{self.proxy_url}{urlsplit(server['url']).path.rstrip('/')}/api/{path}"

    async def _fetch(self, server: dict[str, Any], url: str, method: str = "GET") -> bytes:
        """One request to a user's server with that user's token (a new one
        once, if the server refused a token its user may have revoked)."""
        if self._http is None:  # made on the running loop; as many at once as we allow
            self._http = AsyncHTTPClient(force_instance=True, max_clients=self._max_concurrency)
        user = server["user"]
        host = {"Host": netloc} if (netloc := urlsplit(server["url"]).netloc) else {}
        while True:
            token = await self.tokens.token(user)
            body = _Body(self.max_answer_bytes)
            request = HTTPRequest(
                url,
                method=method,
                headers={"Authorization": f"token {token}", **host},
                connect_timeout=self.timeout,
                request_timeout=self.timeout,
                follow_redirects=False,
                streaming_callback=body,
            )
            try:
                # The client's own deadline, and a backstop.
                await asyncio.wait_for(self._http.fetch(request), self.timeout + 1)
            except HTTPClientError as err:
                if body.too_large:
                    raise InvalidAnswer(
                        f"larger than {self.max_answer_bytes / 2**20:g} MiB"
                    ) from None
                if err.code in (401, 403) and await self.tokens.refused(user, token):
                    continue
                raise
            return body.bytes()

    def _why(self, err: BaseException, url: str) -> str:
        """What a request to a server came to, as the view shows it."""
        if isinstance(err, (asyncio.TimeoutError, TimeoutError)) or (
            isinstance(err, HTTPClientError) and err.code == 599 and "timeout" in str(err).lower()
        ):
            return f"timed out after {self.timeout:g} s ({url})"
        if isinstance(err, HTTPClientError) and 300 <= err.code < 400:
            return f"HTTP {err.code}: a redirect, not followed ({url})"
        if isinstance(err, HTTPClientError) and err.code != 599:
            return f"HTTP {err.code} ({url})"
        return f"{printable(err, 120)} ({url})"

    async def _read(
        self, server: dict[str, Any], route: str, shaped: Any, missing: Any = _REQUIRED
    ) -> Any:
        """A route's answer, shaped. A server with an older extension,
        without that route, answers `missing` (when given: not an error)."""
        try:
            body = await self._fetch(server, self._server_api(server, route))
        except HTTPClientError as err:
            if missing is not _REQUIRED and err.code == 404:
                return missing
            raise
        return shaped(body)

    async def server_sessions(self, server: dict[str, Any]) -> dict[str, Any]:
        """`server` with its sessions and the kernels that ended there lately,
        or with `reachable: false` and why (`invalid: true` when it answered
        something that is not active sessions); `skipped` counts the records
        of its answer that could not be shaped, left out."""
        started = time.monotonic()
        result = {
            **server,
            "reachable": False,
            "invalid": False,
            "error": None,
            "sessions": [],
            "ended": [],
            "memory": None,
            "skipped": 0,
        }
        left_out: str | None = None
        async with self._limit:
            try:
                # One request where the server can answer it (a third of the
                # requests of a gathering, each a new connection through the
                # proxy); the two others of an older extension's server.
                sessions, more = await self._read(
                    server, "active-sessions?include=ended,status", answers.sessions_and_more
                )
                if more is None:
                    more = await asyncio.gather(
                        self._read(server, "active-sessions/ended", answers.ended_sessions, []),
                        self._read(server, "active-sessions/status", answers.memory_status, None),
                    )
                ended, memory = more
                result.update(reachable=True, sessions=sessions, ended=ended, memory=memory)
                result["skipped"], left_out = answers.left_out(sessions, ended)
            except InvalidAnswer as err:
                result.update(invalid=True, error=f"invalid answer: {err}")
            except HubError as err:
                result["error"] = str(err)
            except (HTTPClientError, asyncio.TimeoutError, TimeoutError, OSError) as err:
                result["error"] = self._why(err, self._server_api(server, "active-sessions"))
        self._report(server, result["error"] if result["invalid"] else left_out)
        result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        result["summary"] = summarize(result["sessions"], result["ended"], result["memory"])
        return result

    def _report(self, server: dict[str, Any], why: str | None) -> None:
        key = (server["user"], server["server_name"])
        if why is None:
            self._reported.pop(key, None)
        elif self._reported.get(key) != why:
            self._reported[key] = why
            self.log.warning(
                "Active sessions: %s's server %r gave an %s",
                printable(key[0]),
                printable(key[1]),
                why,
            )

    async def shut_down_idle(
        self, user: str, server_name: str, min_idle_seconds: int
    ) -> dict[str, Any] | None:
        """Shut down the kernels of one user's server that are idle (or ready)
        for at least `min_idle_seconds`, through that server's own API. None
        if the user has no such running server."""
        server = next(
            (
                s
                for s in await self.hub.running_servers()
                if s["user"] == user and s["server_name"] == server_name
            ),
            None,
        )
        if server is None:
            return None
        found = await self.server_sessions(server)
        if not found["reachable"]:
            return {
                "user": user,
                "server_name": server_name,
                "shut_down": [],
                "failed": {},
                "error": found["error"],
            }
        # Shaped ids are UUIDs: quoting them changes nothing, and is the rule.
        chosen = [
            s["session_id"]
            for s in found["sessions"]
            if s["status"] in ("idle", "ready") and (s["idle_seconds"] or 0) >= min_idle_seconds
        ]
        self._last = None  # what follows makes it stale
        done: list[str] = []
        failed: dict[str, str] = {}
        for kernel_id in chosen:
            url = self._server_api(server, "kernels/" + quote(kernel_id, safe=""))
            try:
                await self._fetch(server, url, method="DELETE")
                done.append(kernel_id)
            except (
                HTTPClientError,
                HubError,
                InvalidAnswer,
                asyncio.TimeoutError,
                TimeoutError,
                OSError,
            ) as err:
                failed[kernel_id] = (
                    str(err) if isinstance(err, (HubError, InvalidAnswer)) else self._why(err, url)
                )
        return {
            "user": user,
            "server_name": server_name,
            "shut_down": done,
            "failed": failed,
            "error": None,
        }

    # -- the whole view ------------------------------------------------------------------

    async def gather(self) -> dict[str, Any]:
        """The whole view: every running server, and a line per user. Readers
        who ask while a gathering is under way (admins' pages refreshing,
        Prometheus) share it: the servers are asked once for all of them, and
        a view younger than `min_interval` seconds is served again."""
        last = self._last
        if (
            self._gathering is None
            and last is not None
            and time.monotonic() - last[0] < self.min_interval
        ):
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
        servers = await self.hub.running_servers()
        results = await asyncio.gather(*(self.server_sessions(s) for s in servers))
        return {
            "users": per_user(results),
            "servers": sorted(results, key=lambda r: (r["user"], r["server_name"])),
            "gathered": at,
            "gathered_ms": round((time.monotonic() - started) * 1000, 1),
        }


def summaries_only(view: dict[str, Any]) -> dict[str, Any]:
    """The view for a reader who may see figures but not what users run
    (a scraper's token): each server's summary, none of its sessions."""
    return {
        **view,
        "servers": [
            {k: v for k, v in s.items() if k not in ("sessions", "ended")} for s in view["servers"]
        ],
    }


def summarize(
    sessions: list[dict[str, Any]],
    ended: list[dict[str, Any]] | None = None,
    memory_status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Kernels by status, busy ones, memory and CPU totals, longest idle; the
    kernels that ended lately by reason; `killed` / `oom`: kernels whose
    process a signal the server did not send ended / the out-of-memory
    killer ended, whether the kernel is gone or was restarted after it; the
    server's memory limit and what is used of it. Reads shaped answers."""
    by_status: dict[str, int] = {}
    killed = oom = 0
    memory = 0
    cpu = 0.0
    idle = 0
    for s in sessions:
        status = s["status"]
        by_status[status] = by_status.get(status, 0) + 1
        usage = s["resource_usage"] or {}
        memory += usage.get("memory_bytes") or 0
        cpu += usage.get("cpu_percent") or 0.0
        if status != "busy":
            idle = max(idle, s["idle_seconds"] or 0)
        reason = (s["last_exit"] or {}).get("reason")
        killed += reason == "killed"
        oom += reason == "oom"
    ended_by_reason: dict[str, int] = {}
    for e in ended or ():
        ended_by_reason[e["reason"]] = ended_by_reason.get(e["reason"], 0) + 1
    return {
        "kernels": len(sessions),
        "by_status": by_status,
        "busy": by_status.get("busy", 0),
        "memory_bytes": memory,
        "cpu_percent": round(cpu, 1),
        "max_idle_seconds": idle,
        "ended": sum(ended_by_reason.values()),
        "ended_by_reason": ended_by_reason,
        "killed": killed + ended_by_reason.get("killed", 0),
        "oom": oom + ended_by_reason.get("oom", 0),
        "memory_limit_bytes": (memory_status or {}).get("limit_bytes"),
        "memory_used_bytes": (memory_status or {}).get("used_bytes"),
        "memory_warning": bool((memory_status or {}).get("warning")),
    }


def per_user(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for r in results:
        u = users.setdefault(
            r["user"],
            {
                "name": r["user"],
                "servers": 0,
                "unreachable": 0,
                "kernels": 0,
                "busy": 0,
                "memory_bytes": 0,
                "cpu_percent": 0.0,
                "max_idle_seconds": 0,
                "ended": 0,
                "killed": 0,
                "oom": 0,
                # Of the servers that say (None when none does).
                "memory_used_bytes": None,
                "memory_limit_bytes": None,
                "memory_warning": False,
            },
        )
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
        u["oom"] += s["oom"]
        u["memory_warning"] = u["memory_warning"] or s["memory_warning"]
        if s["memory_used_bytes"] is not None and s["memory_limit_bytes"]:
            u["memory_used_bytes"] = (u["memory_used_bytes"] or 0) + s["memory_used_bytes"]
            u["memory_limit_bytes"] = (u["memory_limit_bytes"] or 0) + s["memory_limit_bytes"]
    return sorted(users.values(), key=lambda u: u["name"])
