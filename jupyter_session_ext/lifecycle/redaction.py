"""What never leaves the server: credentials in a kernel's environment and
command line. Names are matched by the admin's patterns
(`SessionRegistry.secret_env_patterns`); values are searched for credentials
whatever their name:

- URL userinfo: `postgres://app:hunter2@db/x` reads `postgres://app:<redacted>@db/x`;
- in the command line, `NAME=value` whose NAME matches (`env DB_PASS=...`),
  `--flag=value` and `--flag value` whose flag matches (`--token=`,
  `--password`, `--IdentityProvider.token=`).

Not caught: a credential with a name nothing matches and no shape of its
own (`MYAPP_CONFIG=hunter2`), a token as the whole userinfo of a URL
(`https://ghp_x@github.com` is indistinguishable from a user name), and
credentials inside files the kernel reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"

_URL_PASSWORD = re.compile(r"(?P<before>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):[^\s@/]*@")
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)=(?P<value>.*)", re.S)
_FLAG = re.compile(r"(?P<flag>--?[A-Za-z][A-Za-z0-9_.\-]*)(?:=(?P<value>.*))?", re.S)


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = [p for p in patterns if p]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def redact_value(value: str) -> str:
    """Credentials a value carries by their shape (URL userinfo)."""
    if "@" not in value:
        return value
    return _URL_PASSWORD.sub(lambda m: f"{m['before']}:{REDACTED}@", value)


def redact_env(env: Mapping[str, str], secret_names: re.Pattern[str] | None) -> dict[str, str]:
    return {
        k: REDACTED if secret_names is not None and secret_names.search(k) else redact_value(v)
        for k, v in env.items()
    }


def redact_argv(argv: list[str], secret_names: re.Pattern[str] | None) -> list[str]:
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            shown.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        flag = _FLAG.fullmatch(arg)
        if flag is not None and secret_names is not None and secret_names.search(flag["flag"]):
            if flag["value"] is None:
                hide_next = True  # `--token SECRET`
                shown.append(arg)
            else:
                shown.append(f"{flag['flag']}={REDACTED}")
            continue
        assignment = _ASSIGNMENT.fullmatch(arg)
        if (
            assignment is not None
            and secret_names is not None
            and secret_names.search(assignment["name"])
        ):
            shown.append(f"{assignment['name']}={REDACTED}")
            continue
        shown.append(redact_value(arg))
    return shown
