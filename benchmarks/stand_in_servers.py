"""Stand-ins for hundreds of users' single-user servers, in one process: the
simulation behind benchmarks/fleet_scale.py, so that a real JupyterHub, its
real proxy and the real fleet service can be measured at 500 servers on a
machine that could not run 500 real ones.

What is simulated: each user's server. `StandInSpawner` "starts" a user's
server by pointing the Hub at this one process; the proxy then routes
`/user/<name>/` here like any server. What is real: the Hub (its API, its
pagination, the tokens it mints), configurable-http-proxy, the fleet service,
and the checking of every request's token with the Hub as a single-user
server does it (jupyterhub's own `HubAuth`, with its cache: the token must be
that user's, with access to that user's server).

The answers are a real server's: `record()` asks a real jupyter server with
the extension and two kernels; each user is then served those answers with
kernel ids of their own (and, asked `?include=ended,status`, the list with
the two others in it, as the extension answers).

    python benchmarks/stand_in_servers.py --port P --answers F --hub-api URL --token T
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubAuth
from jupyterhub.spawner import Spawner
from tornado import web
from traitlets import Integer

ROUTES = {
    "api/active-sessions": "sessions",
    "api/active-sessions/ended": "ended",
    "api/active-sessions/status": "status",
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class StandInSpawner(Spawner):
    """A user's server that is a route of the stand-in process (`port`)."""

    port = Integer(help="The stand-in process's port.").tag(config=True)

    _running = False

    async def start(self) -> tuple[str, int]:
        self._running = True
        return ("127.0.0.1", self.port)

    async def poll(self) -> int | None:
        return None if self._running else 0

    async def stop(self, now: bool = False) -> None:
        self._running = False


def record(server: Any) -> dict[str, str]:
    """A real server's answers (`tests/server_process.JupyterServer`, with
    its kernels started and ready), as the service reads them."""
    return {name: json.dumps(server.get(path)) for path, name in ROUTES.items()}


class Answers:
    """The recorded answers, each user's with kernel ids of their own
    (made once per user, as a server's would be stable)."""

    def __init__(self, recorded: dict[str, str]) -> None:
        self.recorded = recorded
        self._mine: dict[str, dict[str, bytes]] = {}

    def of(self, user: str, name: str) -> bytes:
        if user not in self._mine:
            ns = uuid.uuid5(uuid.NAMESPACE_URL, user)
            self._mine[user] = {
                key: _UUID.sub(lambda m: str(uuid.uuid5(ns, m.group(0))), text).encode()
                for key, text in self.recorded.items()
            }
        return self._mine[user][name]


class UserServerHandler(web.RequestHandler):
    """One route of one user's server, for that user's token only."""

    async def get(self, user: str, route: str) -> None:
        auth: HubAuth = self.settings["hub_auth"]
        if route == "":  # the Hub asking whether the server is up
            self.write("a stand-in server")
            return
        if route not in ROUTES:
            raise web.HTTPError(404)
        found = auth.auth_header_pat.match(self.request.headers.get("Authorization", ""))
        model = await auth.user_for_token(found.group(1), sync=False) if found else None
        scopes = {f"access:servers!server={user}/", f"access:servers!user={user}"}
        if not model or not auth.check_scopes(scopes, model):
            raise web.HTTPError(403)
        self.set_header("Content-Type", "application/json")
        answers = self.settings["answers"]
        body = answers.of(user, ROUTES[route])
        include = self.get_query_argument("include", "")
        if route == "api/active-sessions" and include:  # as the extension answers it
            body = (
                body[:-1]
                + b"".join(
                    b', "%s": %s' % (part.encode(), answers.of(user, part))
                    for part in include.split(",")
                    if part in ("ended", "status")
                )
                + b"}"
            )
        self.write(body)


async def serve(port: int, answers: Path, hub_api: str, token: str) -> None:
    app = web.Application(
        [(r"/user/([^/]+)/(.*)", UserServerHandler)],
        hub_auth=HubAuth(api_url=hub_api, api_token=token, cache_max_age=300),
        answers=Answers(json.loads(answers.read_text())),
    )
    app.listen(port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answers", type=Path, required=True)
    parser.add_argument("--hub-api", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.answers, args.hub_api, args.token))
