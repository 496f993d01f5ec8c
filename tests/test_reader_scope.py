"""What a reader may see, on a real server with real kernels: code, history,
environment and command line only for who may execute on kernels; no
credential in any answer, event, metric or CLI output; bounded under a
flood; what the server drops never queued; hostile bodies refused."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import psutil
import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from conftest import events_until, ready

SECRETS = {
    "DATABASE_URL": "postgres://app:url-secret-5@db/x",
    "DB_PASS": "pass-secret-6",
    "GITHUB_PAT": "pat-secret-7",
    "HTTPS_PROXY": "http://u:proxy-secret-8@proxy:3128",
}
ARGV_SECRETS = ["argv-secret-1", "dsn-secret-2", "flag-secret-3", "flag-secret-4"]
ALL_SECRETS = ARGV_SECRETS + ["url-secret-5", "pass-secret-6", "pat-secret-7", "proxy-secret-8"]


class ReadAndExecute(Authorizer):
    """May see kernels and run code on them (a websocket), not change them."""

    def is_authorized(self, handler, user, action, resource):
        return action in ("read", "execute") or resource != "kernels"


def authorizer(config, name: str) -> dict:
    return {**config, "ServerApp": {**config["ServerApp"], "authorizer_class": name}}


async def seen_code(api, jp_serverapp) -> tuple[str, dict, dict]:
    """A kernel started behind the authorizer's back, with one cell run and
    one running: the session and its history as this reader gets them."""
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    await api.wait_session(kernel_id, ready)
    kc = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=30)
        kc.execute("password = 'typed-in-a-cell'")
        await api.wait_session(
            kernel_id, lambda s: s["status"] == "idle" and s["execution_count"] == 1
        )
        kc.execute("import time; time.sleep(30)  # running")
        session = await api.wait_session(
            kernel_id,
            lambda s: (
                s["status"] == "busy"
                and s["execution_queue"]["active"]
                and s["execution_count"] == 2
            ),
        )
    finally:
        kc.stop_channels()
    history = await api.get("api", "active-sessions", kernel_id, "history")
    return kernel_id, session, history


class TestReadOnlySeesNoCode:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return authorizer(jp_server_config, "read_only_authorizer.ReadOnlyAuthorizer")

    async def test_code_env_and_argv_are_null(self, api, jp_serverapp, jp_ws_fetch):
        kernel_id, s, history = await seen_code(api, jp_serverapp)
        assert s["execution_queue"]["active"]["code"] is None
        assert s["argv"] is None and s["initial_env"] is None
        assert [e["code"] for e in history["executions"]] == [None]
        listed = await api.get("api", "active-sessions")
        assert "typed-in-a-cell" not in json.dumps(listed) and "time.sleep" not in json.dumps(
            listed
        )
        # The kernel's figures are all there.
        assert s["status"] == "busy" and s["execution_count"] == 2 and s["process_id"]
        # Its websocket and its actions stay refused.
        with pytest.raises(HTTPClientError) as refused:
            await jp_ws_fetch("api", "kernels", kernel_id, "channels")
        assert refused.value.code == 403
        for method, tail in (("POST", "interrupt"), ("POST", "kill")):
            assert (await api.call(method, "api", "active-sessions", kernel_id, tail))[0] == 403
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)
        ended = await api.ended_record(kernel_id)
        assert ended["last_execution"]["code"] is None


class TestWhoMayExecuteSeesCode:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return authorizer(jp_server_config, "test_reader_scope.ReadAndExecute")

    async def test_code_env_and_argv_are_there(self, api, jp_serverapp):
        kernel_id, s, history = await seen_code(api, jp_serverapp)
        assert s["execution_queue"]["active"]["code"].startswith("import time")
        assert s["argv"] and s["argv"][1:3] == ["-m", "ipykernel_launcher"]
        assert isinstance(s["initial_env"], dict)
        assert [e["code"] for e in history["executions"]] == ["password = 'typed-in-a-cell'"]
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)


@pytest.fixture
def secret_kernelspec(jp_data_dir):
    """A kernelspec whose environment and command line carry credentials."""
    spec_dir = jp_data_dir / "kernels" / "python-secrets"
    spec_dir.mkdir(parents=True)
    argv = [
        "env",
        "SECRET_IN_ARGV=argv-secret-1",
        "DSN=postgres://app:dsn-secret-2@db/x",
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        "--token=flag-secret-3",
        "--password",
        "flag-secret-4",
    ]
    spec = {"argv": argv, "display_name": "Python (secrets)", "language": "python", "env": SECRETS}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return "python-secrets"


async def test_no_credential_leaves_the_server(
    api, jp_serverapp, jp_fetch, open_client, secret_kernelspec, session_events, cli_runner
):
    kernel_id = await api.start_kernel(name=secret_kernelspec)
    s = await api.wait_session(kernel_id, ready)
    # They are there, in the process: and read <redacted> in its record.
    environ = psutil.Process(s["process_id"]).environ()
    assert all(environ[name] == value for name, value in SECRETS.items())
    assert s["initial_env"]["DATABASE_URL"] == "postgres://app:<redacted>@db/x"
    assert s["initial_env"]["DB_PASS"] == "<redacted>"
    assert "SECRET_IN_ARGV=<redacted>" in s["argv"] and "--token=<redacted>" in s["argv"]
    client = await open_client(kernel_id)
    await client.execute("x = 1", cell_id="a")
    bodies = [
        await api.get("api", "active-sessions"),
        await api.session(kernel_id),
        await api.get("api", "active-sessions", "status"),
        await api.get("api", "active-sessions", kernel_id, "history"),
        (await api.call("PATCH", "api", "active-sessions", kernel_id, body={"display_name": "x"}))[
            1
        ],
        (await api.call("POST", "api", "active-sessions", kernel_id, "interrupt"))[1],
        (await api.call("POST", "api", "active-sessions", kernel_id, "restart"))[1],
    ]
    metrics = (await jp_fetch("metrics")).body.decode()
    outputs = [
        await cli_runner(*args)
        for args in (
            ("list",),
            ("show", kernel_id),
            ("show", kernel_id, "--json"),
            ("history", kernel_id),
        )
    ]
    assert (await api.call("POST", "api", "active-sessions", kernel_id, "kill"))[0] == 204
    bodies.append(await api.ended_record(kernel_id))
    bodies.append(await api.get("api", "active-sessions", "ended"))
    outputs.append(await cli_runner("ended", "--json"))
    events = await events_until(session_events, lambda r: any(e["action"] == "ended" for e in r))
    everything = json.dumps(bodies) + json.dumps(events) + metrics + "".join(outputs)
    for secret in ALL_SECRETS:
        assert secret not in everything, secret


@pytest.fixture
def cli_runner(jp_serverapp, jp_http_port, jp_base_url, tmp_path):
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token

    async def run(*args: str) -> str:
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "none")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jupyter_session_ext.cli",
            *args,
            "--url",
            url,
            "--token",
            token,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    return run


async def test_a_flood_is_bounded_and_counted(api, open_client, jp_serverapp):
    """3,000 requests with 1,000-character ids behind one long cell."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    client.send_execute("import time; time.sleep(60)")
    await api.wait_session(kernel_id, lambda s: s["status"] == "busy")
    me = psutil.Process(os.getpid())
    before = me.memory_info().rss
    long = "i" * 1000
    for n in range(3000):
        client.send(
            "shell",
            "execute_request",
            {
                "code": "pass",
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata={"cellId": f"{long}{n}"},
            msg_id=f"{long}{n}",
        )
        if n % 200 == 0:
            await asyncio.sleep(0)
    s = await api.wait_session(
        kernel_id, lambda s: s["execution_queue"]["length"] == 3000, timeout=120
    )
    listing = await api.call("GET", "api", "active-sessions")
    size = len(json.dumps(listing[1]))
    grown = me.memory_info().rss - before
    print(f"3,000 queued: the list is {size:,} bytes, the server grew {grown / 2**20:.1f} MiB")
    assert len(s["execution_queue"]["pending"]) == 1000  # SessionRegistry.max_pending
    assert max(len(p["cell_id"]) for p in s["execution_queue"]["pending"]) == 256
    assert size < 1_000_000, size
    assert grown < 30 * 2**20, grown / 2**20
    await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)


class TestWhatTheServerDropsIsNeverQueued:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        # Everything a client may send but execute_request.
        allowed = [
            "kernel_info_request",
            "comm_info_request",
            "complete_request",
            "inspect_request",
            "history_request",
            "is_complete_request",
            "comm_open",
            "comm_msg",
            "comm_close",
            "input_reply",
            "shutdown_request",
        ]
        return {**jp_server_config, "MappingKernelManager": {"allowed_message_types": allowed}}

    async def test_a_dropped_execute_request(self, api, open_client):
        kernel_id = await api.start_kernel()
        await api.wait_session(kernel_id, ready)
        client = await open_client(kernel_id)
        dropped = client.send_execute("1 + 1", cell_id="never")
        # The next message on the same websocket is observed after it.
        asked = client.send("shell", "kernel_info_request", {})
        await client.wait_for(
            lambda m: (
                m["parent_header"].get("msg_id") == asked
                and m["header"]["msg_type"] == "kernel_info_reply"
            )
        )
        s = await api.session(kernel_id)
        assert s["execution_queue"] == {"active": None, "pending": [], "length": 0}
        assert dropped not in json.dumps(s)


@pytest.mark.parametrize(
    "body, words",
    [
        (b'{"display_name": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "deeper than"),
        (json.dumps({"display_name": "x" * 100_000}).encode(), "the limit is"),
        ('{"display_name": "gpu\u202eexe.ipynb"}'.encode(), "U+202E"),
        ('{"display_name": "train\u200b"}'.encode(), "U+200B"),
    ],
)
async def test_hostile_patch_bodies_are_refused(api, body, words):
    kernel_id = await api.start_kernel()
    before = await api.wait_session(kernel_id, ready)
    code, data = await api.call("PATCH", "api", "active-sessions", kernel_id, raw=body)
    assert code == 400 and words in data["message"], (code, data)
    after = await api.session(kernel_id)
    assert after["display_name"] == before["display_name"]
