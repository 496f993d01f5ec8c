"""`jupyter active-sessions` in a subprocess against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import pytest

from jupyter_session_ext.registry import CONFIGURABLE_CLASSES

from conftest import ready


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
            sys.executable,
            "-m",
            "jupyter_session_ext.cli",
            *args,
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
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
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for cls in CONFIGURABLE_CLASSES:
        for name, trait in cls.class_traits(config=True).items():
            assert f"--{cls.__name__}.{name}=" in out, name
            assert trait.help.split()[0] in out, name


async def test_cli_history_kill_and_ended(api, cli, open_client):
    kernel = await api.start_kernel()
    await api.wait_session(kernel, ready)
    client = await open_client(kernel)
    await client.execute("x = 1", cell_id="first")
    await client.execute("1 / 0", cell_id="second")
    await api.wait_session(kernel, lambda s: s["status"] == "idle")

    code, out, err = await cli("history", kernel[:8])
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    assert header.split() == ["#", "STATUS", "TOOK", "MEMORY", "ENDED", "CELL", "CODE"]
    assert rows[0].split()[:3] == ["2", "error", "(ZeroDivisionError)"] and "1 / 0" in rows[0]
    assert rows[1].split()[:2] == ["1", "ok"] and "first" in rows[1]
    code, out, _ = await cli("history", kernel, "--json")
    assert json.loads(out)["total"] == 2

    code, out, err = await cli("kill", kernel[:8])
    assert code == 0, err
    assert out.strip() == f"Killed {kernel}."
    code, out, err = await cli("ended")
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    assert header.split() == ["ID", "NAME", "REASON", "BY", "ENDED", "IDLE", "NOTEBOOK"]
    row = next(r for r in rows if r.startswith(kernel[:8]))
    assert "shutdown (killed)" in row and "(background)" in row
    code, out, _ = await cli("ended", "--json")
    record = next(r for r in json.loads(out)["sessions"] if r["session_id"] == kernel)
    assert record["forced"] is True
    code, _, err = await cli("kill", kernel)
    assert code == 1 and f"No active session with id {kernel!r}." in err


async def test_cli_lists_the_cells_that_grew_memory_most(api, cli, open_client):
    kernel = await api.start_kernel()
    await api.wait_session(kernel, lambda s: s["resource_usage"] is not None)
    client = await open_client(kernel)
    await client.execute("small = b's' * 20_000_000", cell_id="small")
    await client.execute("big = b'b' * 150_000_000", cell_id="big")
    await client.execute("n = 1", cell_id="none")
    await api.wait_session(kernel, lambda s: s["status"] == "idle")

    code, out, err = await cli("memory", "--top=2")
    assert code == 0, err
    first, header, *rows = out.strip().splitlines()
    assert re.match(
        r"Memory: [\d.]+ [kMGT]?B of [\d.]+ [kMGT]?B \((cgroup|env|config|host)\)", first
    )
    assert header.split() == ["KERNEL", "#", "GREW", "PEAK", "TOOK", "ENDED", "CODE"]
    assert len(rows) == 2
    assert "big = b'b'" in rows[0] and rows[0].split()[2].startswith("+1")  # +1xx MB
    assert "small = b's'" in rows[1]
    code, out, _ = await cli("memory", kernel[:8], "--json")
    data = json.loads(out)
    assert data["memory"]["source"] in ("cgroup", "env", "config", "host")
    grown = [e["memory_end_bytes"] - e["memory_start_bytes"] for e in data["executions"]]
    assert grown == sorted(grown, reverse=True) and len(grown) == 3


async def test_cli_escapes_what_the_server_says(api, cli, open_client):
    """Code, names and paths come from users and kernels: a terminal escape in
    them is shown escaped, never sent to the terminal."""
    kernel = await api.start_kernel()
    await api.wait_session(kernel, ready)
    client = await open_client(kernel)
    hostile = "x = '\x1b[2J\x1b]0;owned\x07'  # \u202etxt.exe"
    await client.execute(hostile, cell_id="\x1b[31mred")
    for args in (("history", kernel), ("show", kernel), ("list",)):
        code, out, err = await cli(*args)
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, (args, out)
    code, out, _ = await cli("history", kernel)
    assert "\\x1b[2J" in out and "\\u202e" in out


class TestEndedLastWords:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {**jp_server_config, "KernelManager": {"autorestart": False}}

    async def test_cli_ended_prints_last_words_escaped(self, api, cli, open_client):
        """What a process wrote last, under the table: where it faulted,
        then its last lines, each escaped."""
        kernel = await api.start_kernel()
        await api.wait_session(kernel, ready)
        client = await open_client(kernel)
        await client.execute("import os\nos.write(2, b'\\x1b[2J said \\xe2\\x80\\xae last\\n')")
        client.send_execute("import ctypes\n\nctypes.string_at(0)", cell_id="c-crash")
        await api.wait_session(kernel, lambda s: s["status"] == "exited", timeout=60)
        code, _ = await api.call("DELETE", "api", "kernels", kernel)
        assert code == 204
        await api.ended_record(kernel)
        code, out, err = await cli("ended", "--lines=400")
        assert code == 0, err
        assert "\x1b" not in out and "\u202e" not in out
        fault = "Segmentation fault in cell [2] (c-crash), line 3: `ctypes.string_at(0)`"
        said = f"{kernel[:8]}: {fault}"
        assert said in out.splitlines()
        assert "  | \\x1b[2J said \\u202e last" in out.splitlines()
        assert "  | Fatal Python error: Segmentation fault" in out.splitlines()
        # Around the fault report: the lines before it, the frames of the thread.
        code, out, _ = await cli("ended", "--lines=2")
        shown = [line for line in out.splitlines() if line.startswith("  | ")]
        assert shown[1:3] == [
            "  | \\x1b[2J said \\u202e last",
            "  | Fatal Python error: Segmentation fault",
        ]
        assert shown[4].startswith("  | Current thread 0x") and "line 3 in <module>" in shown[6]
        code, out, _ = await cli("ended", "--lines=0")
        assert said in out.splitlines() and "  | " not in out
