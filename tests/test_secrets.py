"""Secrets never leave the server: not in answers, events or logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import psutil

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
