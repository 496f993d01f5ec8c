"""For admins: authorization, secrets, configuration, metrics and the CLI,
against a real server and real kernels."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from pathlib import Path

import psutil
import pytest
from traitlets import TraitError

from jupyter_session_ext.registry import SessionRegistry
from jupyter_session_ext.session_events import SCHEMA_ID, SessionEvents
from test_active_sessions import env_kernelspec  # noqa: F401  (fixture)

ready = lambda s: s["status"] == "ready"  # noqa: E731


# -- configuration -----------------------------------------------------------------


@pytest.mark.parametrize(
    "trait, value, words",
    [
        ("code_preview_length", -1, "0 (no cut) or more"),
        ("kernel_info_timeout", 0, "more than 0 seconds"),
        ("poll_interval", -2.0, "more than 0 seconds"),
        ("resource_sampling_interval", -1, "0 (off) or more"),
        ("secret_env_patterns", ["TOKEN", "(unclosed"], "not a valid regular expression"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(trait, value, words):
    with pytest.raises(TraitError, match=re.escape(words)):
        SessionRegistry(**{trait: value})


def test_invalid_coalesce_interval_is_refused():
    with pytest.raises(TraitError, match="0 or more seconds"):
        SessionEvents(lambda t: {}, coalesce_interval=-0.5)


# -- authorization -------------------------------------------------------------------


class TestReadOnlyAuthorizer:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        server = {**jp_server_config["ServerApp"],
                  "authorizer_class": "read_only_authorizer.ReadOnlyAuthorizer"}
        return {**jp_server_config, "ServerApp": server}

    async def test_reads_pass_and_every_write_is_refused(self, api, jp_serverapp):
        # Kernels are started behind the authorizer's back: it forbids that too.
        kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
        before = await api.wait_session(kernel_id, ready)
        assert (await api.get("api", "active-sessions", "status"))["sessions"] == 1
        writes = [
            ("PATCH", (kernel_id,), {"display_name": "mine now"}),
            ("POST", (kernel_id, "interrupt"), None),
            ("POST", (kernel_id, "restart"), None),
            ("DELETE", (kernel_id,), None),
        ]
        for method, tail, body in writes:
            code, data = await api.call(method, "api", "active-sessions", *tail, body=body)
            assert code == 403, (method, tail)
        after = await api.session(kernel_id)
        assert after["display_name"] == before["display_name"]
        assert after["process_id"] == before["process_id"] and after["restart_count"] == 0
        assert psutil.Process(after["process_id"]).is_running()


# -- secrets -----------------------------------------------------------------------------


async def test_secrets_never_leave_the_server(
    api, jp_serverapp, open_client, env_kernelspec, caplog  # noqa: F811
):
    caplog.set_level(logging.INFO)
    events: list[dict] = []

    async def listener(logger, schema_id, data):
        events.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=SCHEMA_ID, listener=listener)
    try:
        kernel_id = await api.start_kernel(name=env_kernelspec)
        s = await api.wait_session(kernel_id, ready)
        client = await open_client(kernel_id)
        await client.execute("import os; os.environ['LATER_TOKEN'] = 'set-at-runtime'")
        answers = [
            await api.get("api", "active-sessions"),
            await api.get("api", "active-sessions", "status"),
            await api.session(kernel_id),
            (await api.call("PATCH", "api", "active-sessions", kernel_id,
                            body={"display_name": "x"}))[1],
            (await api.call("POST", "api", "active-sessions", kernel_id, "interrupt"))[1],
        ]
        await asyncio.sleep(0.3)
    finally:
        jp_serverapp.event_logger.remove_listener(listener=listener)
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


# -- metrics -------------------------------------------------------------------------------


async def test_metrics_on_the_servers_endpoint(api, jp_fetch, open_client):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    for _ in range(3):
        await client.execute("x = 1")
    client.send_execute("import time; time.sleep(3)")
    client.send_execute("y = 2")
    await api.wait_session(kernel_id, lambda s: s["execution_queue"]["length"] == 1
                           and s["status"] == "busy")
    text = (await jp_fetch("metrics")).body.decode()
    labels = f'kernel_name="python3",session_id="{kernel_id}"'
    lines = set(text.splitlines())
    assert 'jupyter_active_sessions_sessions{status="busy"} 1.0' in lines
    assert 'jupyter_active_sessions_sessions{status="exited"} 0.0' in lines
    assert f"jupyter_active_sessions_queue_length{{{labels}}} 1.0" in lines
    assert f"jupyter_active_sessions_executions_total{{{labels}}} 4.0" in lines
    assert f"jupyter_active_sessions_restarts_total{{{labels}}} 0.0" in lines
    assert any(line.startswith(f"jupyter_active_sessions_busy_seconds{{{labels}}}")
               for line in lines)


# -- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli(jp_serverapp, jp_http_port, jp_base_url, tmp_path):
    """Runs `jupyter active-sessions` in a subprocess against the test server,
    without blocking the server's event loop."""
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token

    async def run(*args: str, server: bool = True, token_: str | None = None):
        extra = ["--url", url, "--token", token_ or token] if server else []
        # An empty runtime dir: without --url, no server is to be found.
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "no-servers")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jupyter_session_ext.cli", *args, *extra,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )
        out, err = await proc.communicate()
        return proc.returncode, out.decode(), err.decode()

    return run


async def test_cli_list_show_and_actions(api, cli, jp_create_notebook):
    jp_create_notebook("report.ipynb")
    notebook_kernel = (await api.start_session("report.ipynb", "notebook"))["kernel"]["id"]
    bare_kernel = await api.start_kernel()
    for k in (notebook_kernel, bare_kernel):
        await api.wait_session(k, ready)

    code, out, err = await cli("list")
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "FOR", "QUEUED", "NOTEBOOK", "PID"]
    by_prefix = {row.split()[0]: row for row in rows}
    assert set(by_prefix) == {notebook_kernel[:8], bare_kernel[:8]}
    assert "report.ipynb" in by_prefix[notebook_kernel[:8]]
    assert "(background)" in by_prefix[bare_kernel[:8]]

    code, out, _ = await cli("list", "--json")
    assert code == 0
    assert {s["session_id"] for s in json.loads(out)["sessions"]} == {notebook_kernel, bare_kernel}

    code, out, _ = await cli("show", bare_kernel[:6], "--json")
    assert code == 0 and json.loads(out)["session_id"] == bare_kernel
    code, out, _ = await cli("show", bare_kernel[:6])
    assert code == 0 and "session_id" in out and bare_kernel in out

    before = await api.session(bare_kernel)
    code, out, err = await cli("restart", bare_kernel[:8])
    assert code == 0, err
    assert out.strip() == f"Restarted {bare_kernel}."
    after = await api.session(bare_kernel)
    assert after["restart_count"] == 1 and after["process_id"] != before["process_id"]

    code, out, _ = await cli("interrupt", bare_kernel)
    assert code == 0 and out.startswith("Interrupted")

    code, out, _ = await cli("shutdown", bare_kernel)
    assert code == 0 and out.startswith("Shut down")
    assert [s["session_id"] for s in (await api.get("api", "active-sessions"))["sessions"]] == [
        notebook_kernel
    ]


async def test_cli_says_clearly_what_is_wrong(api, cli):
    await api.start_kernel()
    code, _, err = await cli("show", "nope")
    assert code == 1 and "No active session with id 'nope'." in err
    code, _, err = await cli("list", token_="wrong")
    assert code == 1 and "refused the request (403)" in err and "--token" in err
    code, _, err = await cli("list", server=False)  # nothing in the runtime dir
    assert code == 1 and "No running Jupyter server found" in err
    code, _, err = await cli("show")
    assert code == 1 and "Usage" in err
    assert "Traceback" not in err


def test_help_all_documents_every_option():
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "jupyter_session_ext.cli", "--help-all"],
        capture_output=True, text=True, check=True,
    ).stdout
    for cls in (SessionRegistry, SessionEvents):
        for name, trait in cls.class_traits(config=True).items():
            assert f"--{cls.__name__}.{name}=" in out, name
            assert trait.help.split()[0] in out, name
