"""Agents see what the panel sees: `api/active-sessions/mcp` with the
official MCP SDK's client, against a real server running real ipykernel
kernels: behind the server's login and Authorizer, the seven tools with
their schemas, a busy kernel as an agent sees it, waits that return when
the kernel is idle (or at their timeout) and leave nothing behind when the
client goes away, an interrupt only for who may execute."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp_client import TOOLS, MCPError, agent, rpc, url

from conftest import poll, ready, started
from last_words_kernels import kernelspec

SLOW = "import time\ntime.sleep(6)"
QUICK = "quick = 1"


@pytest.fixture
def endpoint(http_server, jp_http_port, jp_base_url) -> str:
    """The endpoint's URL, the server listening (`http_server`)."""
    return url(jp_http_port, jp_base_url)


@pytest.fixture
def agent_tools(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["jupyter_session_ext"].app.agent_tools


def structured(result: Any, schemas: dict[str, Any], name: str) -> dict[str, Any]:
    """The tool's structured answer, checked against the schema it listed."""
    data = result.structured_content
    errors = list(Draft202012Validator(schemas[name]).iter_errors(data))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:3]]
    assert result.content and result.content[0].type == "text" and result.content[0].text
    return data


async def listed_schemas(session: Any) -> dict[str, Any]:
    return {t.name: t.output_schema for t in (await session.list_tools()).tools}


async def test_no_token_no_tools(endpoint, jp_fetch):
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    code, answer = await rpc(jp_fetch, listing)  # with the server's token
    assert code == 200 and len(answer["result"]["tools"]) == len(TOOLS)
    for headers in ({"Authorization": ""}, {"Authorization": "token not-the-token"}):
        code, _ = await rpc(jp_fetch, listing, headers)
        assert code == 403, headers
        with pytest.raises(BaseException):  # noqa: B017 (the SDK wraps the 403 in a group)
            async with agent(endpoint, headers) as session:
                await session.list_tools()


async def test_the_seven_tools_are_listed_with_schemas(endpoint, jp_serverapp):
    # As Codex sends the token: a bearer's.
    bearer = {"Authorization": f"Bearer {jp_serverapp.identity_provider.token}"}
    async with agent(endpoint, bearer) as session:
        tools = (await session.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        for schema in (tool.input_schema, tool.output_schema):
            Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object", tool.name
        assert tool.description and len(tool.description) > 60, tool.name
    wait = next(t for t in tools if t.name == "wait_for_idle").input_schema
    assert wait["properties"]["timeout_seconds"]["maximum"] == 600
    assert wait["required"] == ["kernel"] and wait["additionalProperties"] is False
    reading = {t.name for t in tools if t.annotations.read_only_hint}
    assert reading == TOOLS - {"interrupt_kernel"}


async def test_a_busy_kernel_as_an_agent_sees_it(
    endpoint, jp_auth_header, api, open_client, jp_create_notebook
):
    jp_create_notebook("work/train.ipynb")
    kernel_id = (await api.start_session("work/train.ipynb", "notebook"))["kernel"]["id"]
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    client.send_execute(SLOW, cell_id="slow-cell")
    client.send_execute(QUICK, cell_id="quick-cell")
    await api.wait_session(
        kernel_id,
        lambda s: (
            (s["execution_queue"]["active"] or {}).get("cell_id") == "slow-cell"
            and s["execution_queue"]["length"] == 1
        ),
    )
    async with agent(endpoint, jp_auth_header) as session:
        schemas = await listed_schemas(session)
        listing = structured(await session.call_tool("list_kernels", {}), schemas, "list_kernels")
        mine = next(k for k in listing["kernels"] if k["kernel"] == kernel_id)
        assert mine["status"] == "busy" and mine["queued"] == 1
        assert mine["notebook"] == "work/train.ipynb"
        assert mine["running"]["cell_id"] == "slow-cell"
        assert mine["running"]["first_line"] == "time.sleep(6)"  # (not its import)

        # A short wait comes back at its timeout, the cell still running.
        result = await session.call_tool(
            "wait_for_idle", {"kernel": "work/train.ipynb", "timeout_seconds": 1}
        )
        short = structured(result, schemas, "wait_for_idle")
        during = await api.session(kernel_id)
        assert (during["execution_queue"]["active"] or {}).get("cell_id") == "slow-cell", (
            "the 1 s wait came back only after the cell ended"
        )
        assert short["outcome"] == "timeout" and short["waited_seconds"] >= 1
        assert short["running"]["cell_id"] == "slow-cell" and short["queued"] == 1
        assert "Still busy" in result.content[0].text and "slow-cell" in result.content[0].text

        # A long one comes back once both cells ran, naming them.
        result = await session.call_tool(
            "wait_for_idle", {"kernel": kernel_id, "timeout_seconds": 60}
        )
        done = structured(result, schemas, "wait_for_idle")
        assert done["outcome"] == "idle" and done["waited_seconds"] < 60
        assert [(f["cell_id"], f["status"]) for f in done["finished"]] == [
            ("slow-cell", "ok"),
            ("quick-cell", "ok"),
        ]
        assert done["finished_total"] == 2 and done["finished"][0]["duration_seconds"] > 1
        assert "slow-cell" in result.content[0].text
        after = await api.session(kernel_id)
        assert after["status"] == "idle" and after["execution_queue"]["length"] == 0

        # Idle already: at once, nothing finished meanwhile.
        again = structured(
            await session.call_tool("wait_for_idle", {"kernel": kernel_id}),
            schemas,
            "wait_for_idle",
        )
        assert again["outcome"] == "idle" and again["finished_total"] == 0

        status = structured(
            await session.call_tool("kernel_status", {"kernel": kernel_id[:8]}),
            schemas,
            "kernel_status",
        )
        assert status["session"]["session_id"] == kernel_id and status["running"] is None
        history = structured(
            await session.call_tool("kernel_history", {"kernel": kernel_id, "limit": 1}),
            schemas,
            "kernel_history",
        )
        assert [e["cell_id"] for e in history["history"]["executions"]] == ["quick-cell"]
        assert history["history"]["total"] == 2
        memory = structured(
            await session.call_tool("memory_headroom", {}), schemas, "memory_headroom"
        )
        assert memory["memory"]["source"] in ("cgroup", "env", "config", "host", None)


async def test_the_expected_time_left_comes_from_the_last_run(
    endpoint, jp_auth_header, api, open_client
):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    await client.execute("import time; time.sleep(1.5)", cell_id="again")
    # (The websocket may say idle before the server's own IOPub reader does.)
    await poll(
        lambda: api.get("api", "active-sessions", kernel_id, "history"), lambda h: h["total"]
    )
    client.send_execute("import time; time.sleep(1.5)", cell_id="again")
    await api.wait_session(
        kernel_id, lambda s: (s["execution_queue"]["active"] or {}).get("cell_id") == "again"
    )
    async with agent(endpoint, jp_auth_header) as session:
        status = (
            await session.call_tool("kernel_status", {"kernel": kernel_id})
        ).structured_content
    running = status["running"]
    assert running["expected_seconds"] >= 1.5
    assert 0 <= running["expected_remaining_seconds"] <= running["expected_seconds"]
    assert running["expected_remaining_seconds"] == pytest.approx(
        max(0.0, running["expected_seconds"] - running["running_seconds"]), abs=1e-3
    )


async def test_a_writer_interrupts_a_long_cell(endpoint, jp_auth_header, api, open_client):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    client.send_execute("import time\ntime.sleep(60)", cell_id="long")
    await api.wait_session(
        kernel_id, lambda s: (s["execution_queue"]["active"] or {}).get("cell_id") == "long"
    )
    async with agent(endpoint, jp_auth_header) as session:
        result = await session.call_tool("interrupt_kernel", {"kernel": kernel_id})
        assert result.structured_content["interrupted"] is True
        waited = await session.call_tool(
            "wait_for_idle", {"kernel": kernel_id, "timeout_seconds": 30}
        )
        history = await session.call_tool("kernel_history", {"kernel": kernel_id, "limit": 1})
    interrupted = ("long", "error", "KeyboardInterrupt")
    assert waited.structured_content["outcome"] == "idle"
    # What finished while it waited: the interrupted cell, unless it ended
    # before the wait began (a loaded machine); its history says so either way.
    finished = waited.structured_content["finished"]
    assert [(f["cell_id"], f["status"], f["error_name"]) for f in finished] in ([interrupted], [])
    last = history.structured_content["history"]["executions"][0]
    assert (last["cell_id"], last["status"], last["error_name"]) == interrupted


async def test_a_client_that_goes_away_mid_wait_leaves_nothing(
    endpoint, jp_auth_header, api, open_client, registry, agent_tools
):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    client.send_execute("import time\ntime.sleep(60)", cell_id="long")
    await api.wait_session(kernel_id, lambda s: s["status"] == "busy")
    async with agent(endpoint, jp_auth_header) as session:
        # The endpoint's own tasks start (its two session managers).
        await session.call_tool("list_kernels", {})
        await session.call_tool("wait_for_idle", {"kernel": kernel_id, "timeout_seconds": 0})
    listeners = registry.changes.listener_count
    before = {t for t in asyncio.all_tasks() if not t.done()}

    async def wait() -> None:
        async with agent(endpoint, jp_auth_header) as session:
            await session.call_tool("wait_for_idle", {"kernel": kernel_id, "timeout_seconds": 50})

    waiting = asyncio.ensure_future(wait())
    await poll(
        lambda: asyncio.sleep(0, registry.changes.listener_count), lambda n: n == listeners + 1
    )
    assert agent_tools.waiting == 1
    waiting.cancel()  # the agent goes away: its connection closes
    await asyncio.gather(waiting, return_exceptions=True)
    # Within less than the events' keep-alive interval (15 s), whose next
    # write would fail and end it too, later: the wait ends with the connection.
    await poll(
        lambda: asyncio.sleep(0, (registry.changes.listener_count, agent_tools.waiting)),
        lambda counts: counts == (listeners, 0),
        timeout=10,
    )

    def left() -> list[asyncio.Task[Any]]:
        """What the request started and still runs: tasks of the SDK, its
        transport or the tools (sse-starlette's one watcher per loop aside:
        it outlives requests by design; the server's own periodic tasks
        are none of these)."""

        def ours(task: asyncio.Task[Any]) -> bool:
            where = [task.get_name()] + [f.f_code.co_filename for f in task.get_stack()]
            return any(
                part in name
                for name in where
                for part in ("mcp", "starlette", "agent_tools", "asgi_bridge")
            )

        return [
            t
            for t in asyncio.all_tasks()
            if t not in before
            and not t.done()
            and ours(t)
            and "_shutdown_watcher" not in repr(t.get_coro())
        ]

    await poll(lambda: asyncio.sleep(0, left()), lambda tasks: tasks == [], timeout=10)
    # The kernel is untouched: still running its cell.
    assert (await api.session(kernel_id))["status"] == "busy"


async def test_an_agent_reads_why_a_kernel_died(
    endpoint, jp_auth_header, api, open_client, jp_data_dir
):
    """A segfault's last words as the agent reads them: where it faulted and
    the end of what the process wrote, in the text and the structured
    answer (checked against the schema the tool lists)."""
    kernelspec(jp_data_dir)  # ipykernel wired as outside the tests (its fd 2, its fault handler)
    kernel_id, client = await started(api, open_client)
    client.send_execute("import os\nos.write(2, b'MARKER-agent: about to crash\\n')", cell_id="c1")
    await client.wait_for(
        lambda m: m["header"]["msg_type"] == "stream" and "MARKER-agent" in m["content"]["text"]
    )
    client.send_execute("import ctypes\nctypes.string_at(0)", cell_id="c-crash")
    await api.wait_session(
        kernel_id,
        lambda s: (
            (s["last_exit"] or {}).get("reason") == "killed" and s["status"] in ("ready", "idle")
        ),
        timeout=60,
    )
    async with agent(endpoint, jp_auth_header) as session:
        schemas = await listed_schemas(session)
        answer = await session.call_tool("kernel_status", {"kernel": kernel_id})
    status = structured(answer, schemas, "kernel_status")
    words = status["session"]["last_exit"]["last_words"]
    assert words["fault"]["cell_id"] == "c-crash" and words["fault"]["line"] == 2
    text = answer.content[0].text
    # (the count only if the server read the cell's execute_input before the
    # crash: a process that dies at once may take it with it)
    assert "Where it faulted: Segmentation fault in cell " in text, text
    assert "(c-crash), line 2: `ctypes.string_at(0)`" in text, text
    assert "MARKER-agent: about to crash" in text, text
    assert "{'text'" not in text  # words, not a Python dict


class TestReadOnly:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        server = {
            **jp_server_config["ServerApp"],
            "authorizer_class": "read_only_authorizer.ReadOnlyAuthorizer",
        }
        return {**jp_server_config, "ServerApp": server}

    async def test_a_reader_sees_no_code_and_cannot_interrupt(
        self, endpoint, jp_auth_header, api, jp_serverapp
    ):
        # Started behind the authorizer's back: it forbids a reader that too.
        kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
        await api.wait_session(kernel_id, ready)
        kc = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=30)
            kc.execute("import time\ntime.sleep(30)  # secret-marker")
            busy = await api.wait_session(
                kernel_id, lambda s: s["status"] == "busy" and s["execution_queue"]["active"]
            )
            async with agent(endpoint, jp_auth_header) as session:
                answers = [
                    await session.call_tool("list_kernels", {}),
                    await session.call_tool("kernel_status", {"kernel": kernel_id}),
                    await session.call_tool(
                        "wait_for_idle", {"kernel": kernel_id, "timeout_seconds": 0}
                    ),
                ]
                with pytest.raises(MCPError) as refused:
                    await session.call_tool("interrupt_kernel", {"kernel": kernel_id})
            assert refused.value.code == -32003 and "execute" in refused.value.message
            for answer in answers:
                seen = json.dumps(answer.structured_content) + answer.content[0].text
                assert "secret-marker" not in seen and "time.sleep" not in seen
            status = answers[1].structured_content
            assert status["session"]["argv"] is None and status["session"]["initial_env"] is None
            assert status["running"]["first_line"] is None
            after = await api.session(kernel_id)
            assert after["status"] == "busy"
            assert (
                after["execution_queue"]["active"]["msg_id"]
                == busy["execution_queue"]["active"]["msg_id"]
            )
        finally:
            kc.stop_channels()
            await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)


async def test_the_per_request_envelope_works_too(endpoint, jp_auth_header, api):
    """A client of protocol 2026-07-28 (no handshake, `server/discover`)."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    async with agent(endpoint, jp_auth_header, discover=True) as session:
        listing = (await session.call_tool("list_kernels", {})).structured_content
        assert kernel_id in [k["kernel"] for k in listing["kernels"]]
        status = (
            await session.call_tool("kernel_status", {"kernel": kernel_id})
        ).structured_content
    # Who may execute is told so on this path too.
    assert status["session"]["argv"] is not None
