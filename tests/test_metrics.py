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
