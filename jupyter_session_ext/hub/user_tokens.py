"""The credential a user's server receives: a token of that user's own,
minted by the Hub for the service with the single scope
`access:servers!user=<name>` and a short life. Whoever runs that server
(the user, who controls the process) learns nothing they could not do
already: the token opens their own servers and expires.

One token per user, shared by their servers and by concurrent gatherings,
renewed shortly before it expires. A token replaced (renewed, or refused
by a server) is revoked, and so is every token held when the service
stops: none stays valid on the Hub longer than the service needs it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass

from .hub_api import HubAPI, HubError


@dataclass
class _Held:
    token: str
    token_id: str | None
    issued: float
    renew_at: float


class UserTokens:
    def __init__(
        self, hub: HubAPI, lifetime: int = 3600, note: str = "active-sessions service"
    ) -> None:
        self._hub = hub
        self.lifetime = lifetime
        # A token a server refused (revoked by its user on the Hub's token
        # page, say) is replaced, but not sooner than this after it was
        # minted: a server that refuses every token costs the Hub at most 60
        # tokens a lifetime, not one a gathering.
        self.retry_after = lifetime / 60
        self.note = note
        self._held: dict[str, _Held] = {}
        self._minting: dict[str, asyncio.Future[str]] = {}
        self._revoking: set[asyncio.Future[bool]] = set()
        self._closed = False

    @staticmethod
    def scopes(user: str) -> list[str]:
        return [f"access:servers!user={user}"]

    async def token(self, user: str) -> str:
        """`user`'s token, minted on first use; HubError if the Hub refused."""
        held = self._held.get(user)
        if held is not None and time.monotonic() < held.renew_at:
            return held.token
        return await asyncio.shield(self._minted(user))

    def _minted(self, user: str) -> asyncio.Future[str]:
        """The minting of `user`'s next token, shared by whoever waits for it."""
        minting = self._minting.get(user)
        if minting is None:
            minting = self._minting[user] = asyncio.ensure_future(self._mint(user))
            minting.add_done_callback(functools.partial(self._minted_done, user))
        return minting

    def _minted_done(self, user: str, _: asyncio.Future[str]) -> None:
        self._minting.pop(user, None)

    async def _mint(self, user: str) -> str:
        if self._closed:  # revoke_all waits only for the mintings begun before it
            raise HubError("no token for this user: the service is stopping")
        minutes = round(self.lifetime / 60)
        try:
            answer = await self._hub.new_user_token(
                user,
                self.scopes(user),
                self.lifetime,
                f"{self.note}: reads this server's active sessions for the Hub's admins "
                f"(only your servers, expires in {minutes} min)",
            )
        except HubError as err:
            hint = (
                " (does the service's role have the `tokens` scope?)"
                if err.code == 403
                else " (is --FleetService.token_lifetime above the Hub's "
                "token_expires_in_max_seconds?)"
                if err.code == 400
                else ""
            )
            raise HubError(f"no token for this user: {err}{hint}", err.code) from None
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise HubError("no token for this user: the Hub's answer had none")
        now = time.monotonic()
        replaced = self._held.get(user)
        # Renewed a little before it expires, so no request carries a dying token.
        self._held[user] = _Held(
            token, answer.get("id"), now, now + self.lifetime - min(300.0, self.lifetime / 5)
        )
        if replaced is not None:
            # In the background: whoever waits for the new token need not wait
            # for the Hub to revoke the old one (a request still carrying it
            # is refused, and tries the new one: `refused`).
            self._revoke_later(user, replaced)
        return token

    def _revoke_later(self, user: str, held: _Held) -> asyncio.Future[bool]:
        """Revoking `held`, tracked so that `revoke_all` waits for it."""
        revoking = asyncio.ensure_future(self._revoke(user, held))
        self._revoking.add(revoking)
        revoking.add_done_callback(self._revoking.discard)
        return revoking

    async def _revoke(self, user: str, held: _Held) -> bool:
        if not held.token_id:
            return False
        try:
            await self._hub.revoke_user_token(user, held.token_id)
        except HubError:
            return False  # it expires anyway
        return True

    async def revoke_all(self) -> int:
        """At the service's stop: revoke every token held, those being minted
        and those being revoked included; no token is minted after. How many
        tokens the Hub revoked."""
        self._closed = True
        await asyncio.gather(*self._minting.values(), return_exceptions=True)
        held, self._held = self._held, {}
        done = await asyncio.gather(
            *(self._revoke(user, h) for user, h in held.items()),
            *self._revoking,
            return_exceptions=True,
        )
        return sum(d is True for d in done)

    async def refused(self, user: str, token: str) -> bool:
        """`user`'s server refused `token`: True if a new one is worth a try
        (the old one revoked, in case only the server spurned it)."""
        held = self._held.get(user)
        if held is None or held.token != token:
            # Another request to this user's servers replaced it already.
            return held is not None or user in self._minting
        if time.monotonic() - held.issued < self.retry_after:
            return False
        del self._held[user]
        self._minted(user)  # at once, so concurrent requests wait for it
        await self._revoke_later(user, held)
        return True
