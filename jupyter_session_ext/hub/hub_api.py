"""The Hub's REST API, spoken with the service's own token. This is the only
place that token is sent: it can list users and mint tokens for any of them,
so it must never reach a user's server (those get a token of their own user,
`user_tokens.py`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

PAGINATION = "application/jupyterhub-pagination+json"


class HubError(Exception):
    """The Hub did not answer as expected."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class HubAPI:
    def __init__(self, api_url: str, token: str, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self._token = token
        self.timeout = timeout

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        """The JSON answer of one call; HubError if the Hub refused or is down."""
        request = HTTPRequest(
            self.api_url + path,
            method=method,
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {self._token}", **(headers or {})},
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as err:
            raise HubError(
                f"the Hub answered {method} {path.split('?')[0]} with HTTP {err.code}", err.code
            ) from err
        except OSError as err:
            raise HubError(f"the Hub's API did not answer: {err}") from err
        return json.loads(response.body) if response.body else None

    async def running_servers(self) -> list[dict[str, Any]]:
        """Every ready single-user server: user, server_name, url (the proxy
        path), last_activity as the Hub knows it."""
        servers: list[dict[str, Any]] = []
        offset = 0
        while True:
            query = urlencode({"state": "ready", "offset": offset, "limit": 200})
            try:
                page = await self.request("GET", f"users?{query}", headers={"Accept": PAGINATION})
            except HubError as err:
                raise HubError(f"the Hub's users API did not answer: {err}", err.code) from None
            items = page["items"] if isinstance(page, dict) else page
            for user in items:
                for name, server in (user.get("servers") or {}).items():
                    if server.get("ready"):
                        servers.append(
                            {
                                "user": user["name"],
                                "server_name": name,
                                "url": server["url"],
                                "last_activity": server.get("last_activity"),
                            }
                        )
            paging = page.get("_pagination") if isinstance(page, dict) else None
            following = (paging or {}).get("next")
            if not following:
                return servers
            offset = following["offset"]

    async def new_user_token(
        self, user: str, scopes: list[str], expires_in: int, note: str
    ) -> dict[str, Any]:
        """A new token owned by `user` (it can never do more than `user` may)."""
        return await self.request(
            "POST",
            f"users/{quote(user, safe='')}/tokens",
            {"scopes": scopes, "expires_in": expires_in, "note": note},
        )

    async def revoke_user_token(self, user: str, token_id: str) -> None:
        try:
            await self.request(
                "DELETE", f"users/{quote(user, safe='')}/tokens/{quote(token_id, safe='')}"
            )
        except HubError as err:
            if err.code != 404:  # gone already: revoked by its user, or expired
                raise
