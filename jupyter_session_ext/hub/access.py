"""Who may do what with the fleet service: the Hub's scopes of the token a
request carries (an API token, or the browser's OAuth token), never its
owner's admin flag or groups, so a token its owner scoped down gets only
what its scopes say.

    access:services!service=<name>            use the service: every user's
                                              figures (metrics, summaries)
    custom:active-sessions:read:sessions      the sessions themselves: the
                                              code users run, environments
    custom:active-sessions:shutdown:kernels   shut down users' idle kernels

The custom scopes must be declared in `c.JupyterHub.custom_scopes`
(CUSTOM_SCOPES) and granted by a role; a browser's token carries them only
if the service's `oauth_client_allowed_scopes` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jupyterhub.services.auth import check_scopes

SESSIONS_SCOPE = "custom:active-sessions:read:sessions"
SHUTDOWN_SCOPE = "custom:active-sessions:shutdown:kernels"
CUSTOM_SCOPES = {
    SESSIONS_SCOPE: {
        "description": "See every user's active sessions, the code they run included.",
    },
    SHUTDOWN_SCOPE: {
        "description": "Shut down any user's idle kernels.",
    },
}


def access_scope(service: str) -> str:
    return f"access:services!service={service}"


@dataclass(frozen=True)
class Rights:
    use: bool = False
    read_sessions: bool = False
    shut_down: bool = False


def rights(model: dict[str, Any] | None, service: str) -> Rights:
    """What the Hub's user or service `model` (as HubAuth identified it,
    with the scopes of the token it came with) may do here. Only unfiltered
    custom scopes count: a filter (`!user=`, `!group=`) grants nothing."""
    if not model:
        return Rights()
    held = set(model.get("scopes") or ())

    def has(scope: str) -> bool:
        return bool(check_scopes({scope}, held))

    if not has(access_scope(service)):
        return Rights()
    return Rights(True, has(SESSIONS_SCOPE), has(SHUTDOWN_SCOPE))
