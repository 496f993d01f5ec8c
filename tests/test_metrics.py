"""Prometheus metrics on the server's own /metrics, read from real kernels."""

from __future__ import annotations

from conftest import ready


async def test_metrics_on_the_servers_endpoint(api, jp_fetch, open_client):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    client = await open_client(kernel_id)
    for _ in range(3):
        await client.execute("x = 1")
    client.send_execute("import time; time.sleep(3)")
    client.send_execute("y = 2")
    await api.wait_session(
        kernel_id, lambda s: s["execution_queue"]["length"] == 1 and s["status"] == "busy"
    )
    text = (await jp_fetch("metrics")).body.decode()
    labels = f'kernel_name="python3",session_id="{kernel_id}"'
    lines = set(text.splitlines())
    assert 'jupyter_active_sessions_sessions{status="busy"} 1.0' in lines
    assert 'jupyter_active_sessions_sessions{status="exited"} 0.0' in lines
    assert f"jupyter_active_sessions_queue_length{{{labels}}} 1.0" in lines
    assert f"jupyter_active_sessions_executions_total{{{labels}}} 4.0" in lines
    assert f"jupyter_active_sessions_restarts_total{{{labels}}} 0.0" in lines
    assert any(
        line.startswith(f"jupyter_active_sessions_busy_seconds{{{labels}}}") for line in lines
    )


async def test_ended_metric_by_reason(api, jp_fetch):
    killed = await api.start_kernel()
    shut_down = await api.start_kernel()
    for k in (killed, shut_down):
        await api.wait_session(k, ready)
    code, _ = await api.call("POST", "api", "active-sessions", killed, "kill")
    assert code == 204
    code, _ = await api.call("DELETE", "api", "kernels", shut_down)
    assert code == 204
    text = (await jp_fetch("metrics")).body.decode()
    lines = set(text.splitlines())
    assert 'jupyter_active_sessions_ended_total{forced="true",reason="shutdown"} 1.0' in lines
    assert 'jupyter_active_sessions_ended_total{forced="false",reason="shutdown"} 1.0' in lines


async def test_cull_countdown_metric(api, jp_fetch):
    kernel = await api.start_kernel()
    await api.wait_session(kernel, ready)
    await api.call("PATCH", "api", "active-sessions", kernel, body={"idle_timeout": 3600})
    text = (await jp_fetch("metrics")).body.decode()
    labels = f'kernel_name="python3",session_id="{kernel}"'
    line = next(
        row
        for row in text.splitlines()
        if row.startswith(f"jupyter_active_sessions_cull_seconds_left{{{labels}}}")
    )
    assert 3500 < float(line.split()[-1]) <= 3600
