"""What never leaves the server: credentials in a kernel's environment and
command line. Names are matched by the admin's patterns
(`SessionRegistry.secret_env_patterns`); values are searched for credentials
whatever their name:

- URL userinfo: `postgres://app:hunter2@db/x` reads `postgres://app:<redacted>@db/x`;
  the password runs to the last `@` of the URL, so it may hold `/` and `@`;
- `name=value` pairs anywhere in a value, whose name matches the admin's
  patterns or names credentials (`SECRET_KEYS`; a name ending in `Name`, as
  `SharedAccessKeyName`, names a key and is shown): URL query parameters
  (`?token=`, `&X-Amz-Signature=`, Azure SAS `sig=`), connection strings
  (`AccountKey=...;`, `SharedAccessKey=`, ODBC `PWD={...}`);
- JSON or Python-literal text: the value of a key named as above
  (`{"token": "abc"}` reads `{"token": "<redacted>"}`, an object or a list
  under such a key goes whole);
- in the command line, `NAME=value` whose NAME matches (`env DB_PASS=...`),
  `--flag=value` and `--flag value` whose flag matches (`--token=`,
  `--password`, `--IdentityProvider.token=`; the argument after such a flag
  goes even when it starts with a dash), and a value attached to `-p`
  (`mysql -pSECRET`).

Every scan moves forward through the text and tries each character a
bounded number of times, so the time is linear in the length of the input
whatever it holds (a regular expression that backtracks would let a hostile
kernelspec hold the server's event loop). A failure inside fails closed: the
whole value is hidden.

Not caught: a credential with a name nothing matches and no shape of its
own (`MYAPP_CONFIG=hunter2`), a token as the whole userinfo of a URL
(`https://ghp_x@github.com` is indistinguishable from a user name), a value
after a bare `-p` (`sshpass -p SECRET`: `-p` is a port as often), the part
after a space of an unquoted, unbraced value (`Password=two words;`), a URL
password holding a space, a quote or `://`, and credentials inside files
the kernel reads. Redacting errs wide: the text after a URL's `:` up to its
last `@` goes, so `http://hub:8081/u/a@b.org/x` reads
`http://hub:<redacted>@b.org/x`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

REDACTED = "<redacted>"

# Names of query parameters, connection-string and JSON keys whose values are
# credentials whatever the admin's patterns say: these are shapes of the
# value, as a URL password is. (Azure SAS: only `sig` is secret; `sv` is the
# service version, `se` the expiry.)
SECRET_KEYS = re.compile(
    r"token|secret|pass|pwd|key|credential|auth|signature|cookie|jwt|^(?:sig|pw)$|[_.\-]sig$",
    re.IGNORECASE,
)

_FLAG = re.compile(r"(?P<flag>--?[A-Za-z][A-Za-z0-9_.\-]*)(?:=(?P<value>.*))?", re.S)
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)=(?P<value>.*)", re.S)
# Single-dash flags that start with p and name a password (openssl's -pass,
# -passin): not mysql's -p with a password attached.
_P_WORDS = re.compile(r"-p(?:ass(?:word|wd|in|out|phrase)?|wd?)", re.IGNORECASE)

# Keys before `=` and quoted keys before `:`. Neither can start inside the
# one before it (a name is preceded by no name character; a quoted key holds
# no quote of its kind), so each character is tried a bounded number of times.
_PAIR_NAME = re.compile(r"(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z0-9_.\-]+)=")
_JSON_KEY = re.compile(r""""(?P<double>[^"\n]+)"\s*:|'(?P<single>[^'\n]+)'\s*:""")
_USER_END = re.compile(r"[:@/?#\[\]\s\"'<>]")
_URL_END = re.compile(r"[\s\"'<>]|://")
_QUERY_VALUE_END = re.compile(r"[&#;\s\"'<>]")
_VALUE_END = re.compile(r"[;\s\"'<>]")
_LITERAL_END = re.compile(r"[,}\]\s]")
_SPACE = re.compile(r"\s*")
_STRUCTURE = re.compile(r"[\[\]{}\"'\\]")

IsSecret = Callable[[str], bool]


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = [p for p in patterns if p]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def secret_key(secret_names: re.Pattern[str] | None) -> IsSecret:
    """Whether a key inside a value (or a flag) names a credential."""

    def is_secret(name: str) -> bool:
        if name[-4:].lower() == "name":  # SharedAccessKeyName names a key, is none
            return False
        return bool(
            SECRET_KEYS.search(name) or (secret_names is not None and secret_names.search(name))
        )

    return is_secret


def redact_value(value: str, secret_names: re.Pattern[str] | None = None) -> str:
    """Credentials a value carries by their shape: URL passwords, secret
    `name=value` pairs, secret keys of JSON text."""
    try:
        is_secret = secret_key(secret_names)
        text = _url_passwords(value) if "://" in value else value
        if ":" in text:
            text = _json_values(text, is_secret)
        if "=" in text:
            text = _pairs(text, is_secret)
        return text
    except Exception:  # a bug here must not show the value: hide all of it
        return REDACTED


def redact_env(env: Mapping[str, str], secret_names: re.Pattern[str] | None) -> dict[str, str]:
    return {
        k: REDACTED
        if secret_names is not None and secret_names.search(k)
        else redact_value(v, secret_names)
        for k, v in env.items()
    }


def redact_argv(argv: list[str], secret_names: re.Pattern[str] | None) -> list[str]:
    is_secret = secret_key(secret_names)
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        try:
            text, hides = _redact_arg(str(arg), secret_names, is_secret)
        except Exception:
            text, hides = REDACTED, False
        # `--password -dashpw`: what follows a secret flag is its value,
        # whatever it looks like (and when it looks like one, so may the next).
        shown.append(REDACTED if hide_next else text)
        hide_next = hides
    return shown


def _redact_arg(
    arg: str, secret_names: re.Pattern[str] | None, is_secret: IsSecret
) -> tuple[str, bool]:
    """(the argument as shown, whether the next one is a secret)."""
    if arg.startswith("-p") and len(arg) > 2 and not _P_WORDS.fullmatch(arg):
        return f"-p{REDACTED}", False  # mysql's -pSECRET
    flag = _FLAG.fullmatch(arg)
    if flag is not None and is_secret(flag["flag"]):
        if flag["value"] is None:
            return arg, True  # `--token SECRET`
        return f"{flag['flag']}={REDACTED}", False
    assignment = _ASSIGNMENT.fullmatch(arg)
    if (
        assignment is not None
        and secret_names is not None
        and secret_names.search(assignment["name"])
    ):
        return f"{assignment['name']}={REDACTED}", False
    return redact_value(arg, secret_names), False


def _url_passwords(text: str) -> str:
    """`scheme://user:PASSWORD@host`, the password up to the URL's last `@`
    (unencoded `/` and `@` are common in real passwords)."""
    out: list[str] = []
    done = 0
    c = text.find("://")
    while c != -1:
        stop = _USER_END.search(text, c + 3)
        if stop is None:
            break
        k = stop.start()
        if text[k] != ":":
            c = text.find("://", k)
            continue
        # The URL ends at a space, a quote or the next URL.
        end = _URL_END.search(text, k + 1)
        url_end = end.start() if end is not None else len(text)
        at = text.rfind("@", k + 1, url_end)
        if at == -1:
            c = text.find("://", k + 1)
            continue
        if at > k + 1:
            out.append(text[done : k + 1])
            out.append(REDACTED)
            done = at
        c = text.find("://", at + 1)
    out.append(text[done:])
    return "".join(out)


def _pairs(text: str, is_secret: IsSecret) -> str:
    """`name=value` whose name is secret: in a URL query the value ends at
    `&`, elsewhere (connection strings, options) at `;` or a space."""
    out: list[str] = []
    done = 0
    found = _PAIR_NAME.search(text)
    while found is not None:
        start = found.end()
        name = found["name"]
        if not is_secret(name):
            found = _PAIR_NAME.search(text, start)
            continue
        end = _value_end(text, start, text[found.start() - 1 : found.start()])
        if end > start:
            out.append(text[done:start])
            out.append(REDACTED)
            done = end
        found = _PAIR_NAME.search(text, end)
    out.append(text[done:])
    return "".join(out)


def _value_end(text: str, start: int, before: str) -> int:
    first = text[start : start + 1]
    if first == "{":  # ODBC: PWD={a;b}
        close = text.find("}", start)
        return len(text) if close == -1 else close + 1
    if first in ("'", '"'):
        return _string_end(text, start + 1, first)
    stops = _QUERY_VALUE_END if before in ("?", "&") else _VALUE_END
    stop = stops.search(text, start)
    return len(text) if stop is None else stop.start()


def _json_values(text: str, is_secret: IsSecret) -> str:
    """`"key": value` (JSON, or a Python literal's quotes) whose key is
    secret: a string keeps its quotes, anything else goes whole."""
    out: list[str] = []
    done = 0
    found = _JSON_KEY.search(text)
    while found is not None:
        name = found["double"] if found["double"] is not None else found["single"]
        if not is_secret(name):
            found = _JSON_KEY.search(text, found.end())
            continue
        space = _SPACE.match(text, found.end())
        start = space.end() if space is not None else found.end()
        end, quoted = _json_value_end(text, start)
        if end > start:
            out.append(text[done:start])
            out.append(f"{quoted}{REDACTED}{quoted}" if quoted else REDACTED)
            done = end
        found = _JSON_KEY.search(text, end)
    out.append(text[done:])
    return "".join(out)


def _json_value_end(text: str, start: int) -> tuple[int, str]:
    """Where the value at `start` ends, and its quote if it is a string."""
    first = text[start : start + 1]
    if first in ("'", '"'):
        return _string_end(text, start + 1, first), first
    if first == "\\" and text[start + 1 : start + 2] in ("'", '"'):
        # JSON inside a JSON string: \"token\": \"abc\"
        escaped = text[start : start + 2]
        close = text.find(escaped, start + 2)
        return (len(text) if close == -1 else close + 2), ""
    if first in ("{", "["):
        return _nested_end(text, start), ""
    stop = _LITERAL_END.search(text, start)
    return (len(text) if stop is None else stop.start()), ""


def _string_end(text: str, start: int, quote: str) -> int:
    """Just past the closing `quote` of a string whose text begins at `start`
    (backslash escapes honoured); the end of the text if it never closes."""
    i = text.find(quote, start)
    while i != -1:
        k = i
        while k > start and text[k - 1] == "\\":
            k -= 1
        if (i - k) % 2 == 0:
            return i + 1
        i = text.find(quote, i + 1)
    return len(text)


def _nested_end(text: str, start: int) -> int:
    """Just past the bracket that closes the one at `start` (strings
    skipped); the end of the text if it never closes."""
    depth = 0
    i = start
    while True:
        found = _STRUCTURE.search(text, i)
        if found is None:
            return len(text)
        ch, i = found.group(), found.end()
        if ch == "\\":
            i += 1
        elif ch in ("'", '"'):
            i = _string_end(text, i, ch)
        elif ch in ("{", "["):
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i
