"""Secrets never leave the server: not in answers, events or logs."""

from __future__ import annotations

import gc
import json
import logging
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jupyter_session_ext.lifecycle.redaction import (
    compile_patterns,
    redact_argv,
    redact_env,
    redact_value,
)
from jupyter_session_ext.registry import DEFAULT_SECRET_PATTERNS

from conftest import events_until, ready


async def test_secrets_never_leave_the_server(
    api, jp_serverapp, open_client, env_kernelspec, caplog, session_events
):
    caplog.set_level(logging.INFO)
    kernel_id = await api.start_kernel(name=env_kernelspec)
    s = await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    await client.execute("import os; os.environ['LATER_TOKEN'] = 'set-at-runtime'")
    answers = [
        await api.get("api", "active-sessions"),
        await api.get("api", "active-sessions", "status"),
        await api.session(kernel_id),
        (await api.call("PATCH", "api", "active-sessions", kernel_id, body={"display_name": "x"}))[
            1
        ],
        (await api.call("POST", "api", "active-sessions", kernel_id, "interrupt"))[1],
    ]
    events = await events_until(session_events, lambda r: any("updated" in e["changes"] for e in r))
    connection_file = psutil.Process(s["process_id"]).cmdline()[-1]
    key = json.loads(Path(connection_file).read_text())["key"]
    secrets = ["s3cret-token", "hunter2", "abc", key, jp_serverapp.identity_provider.token]
    text = json.dumps(answers) + json.dumps(events)
    logs = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert events, "events were emitted"
    for secret in secrets:
        assert f'"{secret}"' not in text and secret not in logs.split(), secret
    assert key not in text and key not in logs
    assert s["initial_env"]["AWS_SECRET_ACCESS_KEY"] == "<redacted>"


# -- shapes of credentials in values and command lines (issue #41) -----------------

PATTERNS = compile_patterns(DEFAULT_SECRET_PATTERNS)


@dataclass(frozen=True)
class Shape:
    """A real-world credential: what must go, and what must stay so that the
    value is still worth showing."""

    text: str
    hidden: tuple[str, ...]
    kept: tuple[str, ...]


# Environment values (whose names no pattern matches: the value's shape is all).
VALUES = {
    "JUPYTER_SERVER_URL": Shape(
        "http://127.0.0.1:8888/lab?token=9f86d081884c7d659a2f",
        ("9f86d081884c7d659a2f",),
        ("http://127.0.0.1:8888/lab?token=",),
    ),
    "PROFILE_URL": Shape(
        "https://api.example.com/v1/me?access_token=ya29.a0AfH6SMBx&alt=json",
        ("ya29.a0AfH6SMBx",),
        ("https://api.example.com/v1/me?", "alt=json"),
    ),
    "GEOCODE_URL": Shape(
        "https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key=AIzaSyD-9tSrke72",
        ("AIzaSyD-9tSrke72",),
        ("maps.googleapis.com", "address=Paris"),
    ),
    "FEED_URL": Shape(
        "https://feeds.example.org/rss?apikey=feedApiKey77&api_key=feedApiKey88&format=xml",
        ("feedApiKey77", "feedApiKey88"),
        ("feeds.example.org", "format=xml"),
    ),
    "LOGIN_URL": Shape(
        "https://intranet.example.com/login?user=ann&password=Tr0ub4dor3&secret=shh9",
        ("Tr0ub4dor3", "shh9"),
        ("intranet.example.com", "user=ann"),
    ),
    "S3_PRESIGNED": Shape(
        "https://bucket.s3.amazonaws.com/data/x.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        "&X-Amz-Security-Token=FwoGZXIvYXdzEJrSessionTok"
        "&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe",
        ("AKIAIOSFODNN7EXAMPLE", "FwoGZXIvYXdzEJrSessionTok", "fe5f80f77d5fa3beca038a248ff0"),
        ("bucket.s3.amazonaws.com/data/x.csv", "X-Amz-Expires=3600", "X-Amz-Date=20240101"),
    ),
    "AZURE_SAS_URL": Shape(
        "https://acct.blob.core.windows.net/c/b.parquet?sv=2022-11-02&ss=b&srt=o&sp=r"
        "&se=2030-01-01T00:00:00Z&spr=https&sig=q%2BeXz9W%2FmRzl3uMsasSig%3D",
        ("q%2BeXz9W%2FmRzl3uMsasSig",),
        ("acct.blob.core.windows.net/c/b.parquet", "sv=2022-11-02", "se=2030-01-01"),
    ),
    "GCS_SIGNED": Shape(
        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        "&X-Goog-Credential=sa%40proj.iam.gserviceaccount.com%2F20240101"
        "&X-Goog-Signature=2f6a3cGoogSignature",
        ("2f6a3cGoogSignature", "sa%40proj.iam"),
        ("storage.googleapis.com/b/o", "X-Goog-Algorithm=GOOG4-RSA-SHA256"),
    ),
    "AZURE_STORAGE": Shape(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFl"
        "qUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        "EndpointSuffix=core.windows.net",
        ("Eby8vdM02xNOcqFl", "KBHBeksoGMGw"),
        ("AccountName=acct;AccountKey=", "EndpointSuffix=core.windows.net"),
    ),
    "SERVICE_BUS": Shape(
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManage"
        ";SharedAccessKey=SbKeyq8w3Rx0VBcs6Z=",
        ("SbKeyq8w3Rx0VBcs6Z",),
        ("Endpoint=sb://ns.servicebus.windows.net/", "SharedAccessKeyName=RootManage"),
    ),
    "WAREHOUSE_URL": Shape(
        "postgres://analyst:pa/ss@word@db.internal:5432/warehouse",
        ("pa/ss", "ss@word"),
        ("postgres://analyst:", "@db.internal:5432/warehouse"),
    ),
    "CACHE_URL": Shape(
        "redis://:p@ssR3dis@cache:6379/0", ("ssR3dis",), ("redis://:", "@cache:6379/0")
    ),
    "MONGO_URL": Shape(
        "mongodb+srv://app:m0ngo/Pw@cluster0.ab1cd.mongodb.net/?retryWrites=true",
        ("m0ngo/Pw",),
        ("@cluster0.ab1cd.mongodb.net/?retryWrites=true",),
    ),
    "SQLSERVER": Shape(
        "Driver={ODBC Driver 18};Server=tcp:sql.example.net,1433;Uid=app;"
        "Pwd={Odbc;Pw d};Encrypt=yes",
        ("Odbc", "Pw d"),
        ("Server=tcp:sql.example.net,1433;Uid=app;Pwd=", "Encrypt=yes"),
    ),
    "APP_SETTINGS": Shape(
        '{"endpoint": "https://x.example.com", "api_key": "jsonKey123", '
        '"auth": {"user": "u", "pw": "nestedPw"}, "tokens": ["listTok1"], "retries": 3}',
        ("jsonKey123", "nestedPw", "listTok1"),
        ('"endpoint": "https://x.example.com"', '"retries": 3'),
    ),
    "PY_SETTINGS": Shape(
        "{'token': 'pyTok99', 'timeout': 30}", ("pyTok99",), ("'token': '", "'timeout': 30")
    ),
}

# Command lines: argv, hidden, kept.
ARGVS = {
    "mysql -pSECRET": (
        ["mysql", "-pMySqlPw1", "--host=db", "shop"],
        ("MySqlPw1",),
        ("--host=db", "shop"),
    ),
    "--password -dash": (
        ["tool", "--password", "-dashPw2", "--verbose"],
        ("dashPw2",),
        ("--password", "--verbose"),
    ),
    "--config=JSON": (
        ["tool", '--config={"token": "cfgTok3", "password": "cfgPw4", "port": 8080}'],
        ("cfgTok3", "cfgPw4"),
        ('--config={"token": "', '"port": 8080'),
    ),
    "--Foo.config='JSON'": (
        ["tool", '--Foo.config=\'{"token": "fooTok5"}\''],
        ("fooTok5",),
        ("--Foo.config='{",),
    ),
    "URLs": (
        ["tool", "--url=http://localhost:8888/?token=urlTok6", "--db", "postgres://u:a/b@c@h/d"],
        ("urlTok6", "a/b@c"),
        ("--url=http://localhost:8888/?token=", "@h/d"),
    ),
    "NAME=connection string": (
        ["tool", "SQL=Server=s;Password=connPw7;Db=x"],
        ("connPw7",),
        ("Server=s", "Db=x"),
    ),
}


def check(shown: str, hidden: tuple[str, ...], kept: tuple[str, ...]) -> None:
    for secret in hidden:
        assert secret not in shown, (secret, shown)
    for part in kept:
        assert part in shown, (part, shown)


@pytest.mark.parametrize("name", list(VALUES))
def test_credential_shapes_in_values(name):
    shape = VALUES[name]
    check(redact_env({name: shape.text}, PATTERNS)[name], shape.hidden, shape.kept)
    # The same text as an argument (`--url=...`, or on its own).
    for arg in (shape.text, f"--setting={shape.text}"):
        check(" ".join(redact_argv(["tool", arg], PATTERNS)), shape.hidden, shape.kept)


@pytest.mark.parametrize("name", list(ARGVS))
def test_credential_shapes_in_argv(name):
    argv, hidden, kept = ARGVS[name]
    check(" ".join(redact_argv(argv, PATTERNS)), hidden, kept)


@pytest.fixture
def shapes_kernelspec(jp_data_dir):
    """A kernelspec whose environment and command line carry the shapes. A
    shell starts the kernel and ignores the arguments after the connection
    file, which the server still launched it with."""
    spec_dir = jp_data_dir / "kernels" / "python-shapes"
    spec_dir.mkdir(parents=True)
    launch = 'exec "$0" -m ipykernel_launcher -f "$1"'
    extra = [arg for argv, _, _ in ARGVS.values() for arg in argv[1:]]
    spec = {
        "argv": ["sh", "-c", launch, sys.executable, "{connection_file}", *extra],
        "display_name": "Python (credential shapes)",
        "language": "python",
        "env": {name: shape.text for name, shape in VALUES.items()},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return "python-shapes"


async def test_credential_shapes_never_leave_the_server(api, jp_serverapp, shapes_kernelspec):
    kernel_id = await api.start_kernel(name=shapes_kernelspec)
    s = await api.wait_session(kernel_id, ready)
    # They are in the process as launched; none in any answer.
    launched = jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.process.args
    assert "-pMySqlPw1" in launched
    assert psutil.Process(s["process_id"]).environ()["CACHE_URL"] == VALUES["CACHE_URL"].text
    answers = json.dumps([s, await api.get("api", "active-sessions")])
    for name, shape in VALUES.items():
        check(s["initial_env"][name], shape.hidden, shape.kept)
        check(answers, shape.hidden, ())
    shown = " ".join(s["argv"])
    for _, hidden, kept in ARGVS.values():
        check(shown, hidden, kept)
        check(answers, hidden, ())


# -- whatever surrounds a credential, it goes ---------------------------------------

MARK = "S3CR3T"
SECRETS = st.from_regex(rf"{MARK}[A-Za-z0-9]{{0,12}}", fullmatch=True)
AROUND = st.text(max_size=30).filter(lambda t: MARK not in t)
QUERY_NAMES = [
    "token", "access_token", "api_key", "apikey", "key", "secret", "password", "sig",
    "signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
    "X-Goog-Signature", "client_secret", "refresh_token",
]  # fmt: skip
CONNECTION_NAMES = ["AccountKey", "SharedAccessKey", "Password", "PWD", "X-Amz-Signature"]


@st.composite
def embedded(draw: st.DrawFn) -> str:
    """One credential in one of its shapes (a value, or an argument)."""
    secret = draw(SECRETS)
    kind = draw(st.sampled_from(["query", "connection", "userinfo", "json"]))
    if kind == "query":
        sep = draw(st.sampled_from(["?", "?a=1&"]))
        return f"https://h.example/p{sep}{draw(st.sampled_from(QUERY_NAMES))}={secret}"
    if kind == "connection":
        name = draw(st.sampled_from(CONNECTION_NAMES))
        return f"A=b;{name}={secret};EndpointSuffix=core.windows.net"
    if kind == "userinfo":
        # A password with `/` and `@` in it: pieces of the secret between them.
        pieces = draw(st.lists(st.sampled_from(["/", "@", "//", "@@"]), max_size=3))
        password = secret + "".join(sep + secret for sep in pieces)
        return f"postgres://user:{password}@host:5432/db"
    q = draw(st.sampled_from(['"', "'"]))
    key = draw(st.sampled_from(["token", "password", "api_key", "secret"]))
    value = draw(
        st.sampled_from([f"{q}{secret}{q}", f"[{q}{secret}{q}]", f"{{{q}x{q}: 1{secret}}}"])
    )
    return f"{{{q}{key}{q}: {value}, {q}n{q}: 1}}"


@settings(max_examples=400, deadline=None)
@given(before=AROUND, shape=embedded(), after=AROUND)
def test_a_credential_goes_whatever_surrounds_it(before, shape, after):
    text = before + shape + after
    assert MARK not in redact_env({"SETTING": text}, PATTERNS)["SETTING"]
    assert MARK not in " ".join(redact_argv([before, f"--opt={shape}{after}"], PATTERNS))
    assert MARK not in redact_value(text, PATTERNS)


FLAG_FORMS = [
    lambda s: ["-p" + s],  # mysql
    lambda s: ["--password", "-" + s],
    lambda s: ["--token", s],
    lambda s: ["--password", "--password", "-" + s],  # the password is "--password"
]


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(st.text(max_size=20), max_size=3),
    secret=SECRETS,
    form=st.sampled_from(FLAG_FORMS),
    after=st.lists(st.text(max_size=20), max_size=3),
)
def test_a_credential_flag_goes_whatever_surrounds_it(before, secret, form, after):
    assume(not any(MARK in a for a in before + after))
    argv = [*before, *form(secret), *after]
    assert MARK not in " ".join(redact_argv(argv, PATTERNS))


# -- time linear in the input, whatever it holds ---------------------------------------

# Inputs built to make a backtracking scan (or a scan restarted at every
# character) quadratic: long runs where a match almost starts.
HOSTILE = {
    "letters then @": lambda n: "a" * n + "@",
    "user:user:...@": lambda n: "a://" + "b:" * (n // 2) + "@",
    "URLs": lambda n: "a://b:c" * (n // 7),
    "URLs with @": lambda n: "x://u:p@" * (n // 8),
    "=": lambda n: "=" * n,
    "long names =": lambda n: ("a" * 255 + "=") * (n // 256),
    "?token=": lambda n: "?token=" * (n // 7),
    "AccountKey=;;;": lambda n: "AccountKey=" + ";" * n,
    ":": lambda n: ":" * n,
    '"token":': lambda n: '"token":' * (n // 8),
    '"token": [[[': lambda n: '{"token": [' + "[" * n,
    '"token": "\\"': lambda n: '{"token": "' + '\\"' * (n // 2),
    '"""': lambda n: '"' * n + ":",
    'spaces before ":"': lambda n: '"k"' + " " * n + ":",
    "backslashes": lambda n: '"token": "' + "\\" * n,
    "--long-flag": lambda n: "--" + "a" * n,
    "-p": lambda n: "-p" + "a" * n,
}


def _cpu_seconds(text: str, times: int) -> float:
    """CPU time of this process (what other processes on the machine do
    counts little) to redact `text` as an argument and a value."""
    start = time.process_time()
    for _ in range(times):
        redact_argv(["tool", text], PATTERNS)
        redact_env({"SETTING": text}, PATTERNS)
    return time.process_time() - start


def growth(n: int, repeat: int = 5) -> dict[str, tuple[float, float, float]]:
    """Per hostile input: (median seconds at n characters, at 4n, ratio),
    the two sizes measured side by side, without garbage collection."""
    found = {}
    gc.collect()
    gc.disable()
    try:
        for name, make in HOSTILE.items():
            small, large = make(n), make(4 * n)
            # Enough calls that the smaller input takes a few milliseconds.
            times = max(1, math.ceil(0.005 / max(_cpu_seconds(small, 1), 1e-6)))
            pairs = [
                (_cpu_seconds(small, times), _cpu_seconds(large, times)) for _ in range(repeat)
            ]
            s = statistics.median(p[0] for p in pairs) / times
            b = statistics.median(p[1] for p in pairs) / times
            found[name] = (s, b, b / s)
    finally:
        gc.enable()
    return found


def test_redaction_time_is_linear_in_the_input():
    ratios = {name: round(r, 2) for name, (_, _, r) in growth(16 * 1024).items()}
    print(ratios)
    assert all(r <= 6 for r in ratios.values()), ratios


if __name__ == "__main__":
    # PYTHONPATH=. python tests/test_secrets.py 262144: the ratios at 256 KB and 1 MB.
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 256 * 1024
    for name, (s, b, r) in growth(size).items():
        print(f"{name:20} {s * 1000:9.1f} ms {b * 1000:9.1f} ms  x{r:.2f}")
