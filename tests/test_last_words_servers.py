"""Last words against real `jupyter server` subprocesses, whose own stderr
(their log) and memory the test can read: a kernel flooding its stderr,
and an ended kernel's last words after the server restarts."""

from __future__ import annotations

import asyncio
import time

import psutil
from store_servers import connect, ended, run_cells, session, wait_for

from last_words_kernels import kernelspec
from server_process import JupyterServer

MB = 2**20
# 50 MB of numbered lines, written as fast as the kernel can, straight to its
# stderr (ipykernel's copy of its original fd 2: where a C library's output
# lands, here without ipykernel's thread and the notebook's stream between).
FLOOD = """
import os, sys
fd = getattr(sys.stderr, "_original_stdstream_copy", 2)
for block in range(50):
    data = b"".join(b"flood-%02d-%06d %s\\n" % (block, i, b"x" * 80) for i in range(11_500))
    while data:
        data = data[os.write(fd, data):]
os.write(fd, b"FLOOD-END-9c1\\n")
"""


def start(tmp_path, name: str, *args: str) -> JupyterServer:
    data_dir = tmp_path / name
    kernelspec(data_dir)
    return JupyterServer(data_dir=data_dir, extra_args=list(args))


def ready_kernel(server: JupyterServer) -> str:
    kernel_id = server.start_kernel()
    wait_for(lambda: (s := session(server, kernel_id)) and s["status"] == "ready", "a kernel")
    return kernel_id


async def timed(server: JupyterServer, kernel_id: str, codes: list[str]) -> list[float]:
    """Seconds from each cell's request to its reply, one after the other."""
    client = await connect(server, kernel_id)
    try:
        await client.execute("pass")
        took = []
        for code in codes:
            began = time.perf_counter()
            await client.execute(code, timeout=300)
            took.append(time.perf_counter() - began)
        return took
    finally:
        client.close()


def send_until(server: JupyterServer, kernel_id: str, code: str, cell_id: str, until, what):
    """Send a cell that will not answer (it ends its process), and keep its
    websocket open until `until()` holds."""

    async def run() -> None:
        client = await connect(server, kernel_id)
        try:
            client.send_execute(code, cell_id)
            await asyncio.get_running_loop().run_in_executor(None, wait_for, until, what)
        finally:
            client.close()

    asyncio.run(run())


def test_a_50_mb_flood_costs_the_kernel_nothing_and_the_server_a_bounded_amount(tmp_path):
    on = start(tmp_path, "on")
    off = start(tmp_path, "off", "--KernelOutput.capture=False")
    try:
        kernels = {s: ready_kernel(s) for s in (on, off)}
        rss_before = psutil.Process(on.proc.pid).memory_info().rss
        took = {
            s: asyncio.run(timed(s, kernels[s], ["pass"] * 5 + [FLOOD, "pass"])) for s in (on, off)
        }
        rss_after = psutil.Process(on.proc.pid).memory_info().rss
        print(
            f"\nflood of 50 MB: {took[on][5]:.2f} s captured, {took[off][5]:.2f} s onto the "
            f"server's stderr; next cell {took[on][6] * 1000:.1f} ms (before: at most "
            f"{max(took[on][:5]) * 1000:.1f} ms); server RSS "
            f"{(rss_after - rss_before) / MB:+.1f} MB"
        )
        # Every line reached the server's log, as it does without capture.
        for server in (on, off):
            wait_for(lambda s=server: "FLOOD-END-9c1" in s.log.read_text(), "the flood's end")
            log = server.log.read_text()
            assert log.count("flood-") == 50 * 11_500
        # What the kernel wrote last is kept: its tail.
        kernel_id = kernels[on]
        send_until(
            on,
            kernel_id,
            "import os; os.write(2, b'gone\\n'); os._exit(7)",
            "c-exit",
            lambda: (x := session(on, kernel_id)) and x["restart_count"] == 1 and x,
            "the restart",
        )
        s = session(on, kernel_id)
    finally:
        on.stop()
        off.stop()
    # The kernel wrote as fast as onto the server's own stderr (a file here).
    assert took[on][5] <= 3 * took[off][5] + 0.5
    # The next cell answers as the cells before the flood did.
    assert took[on][6] <= 10 * max(took[on][:5])
    # Of 50 MB, the server keeps a tail.
    assert rss_after - rss_before < 20 * MB
    words = s["last_exit"]["last_words"]
    assert s["last_exit"]["reason"] == "exited" and s["last_exit"]["exit_code"] == 7
    assert words["truncated"] is True
    lines = words["text"].splitlines()
    assert lines[-2:] == ["FLOOD-END-9c1", "gone"] and len(lines) <= 200
    assert lines[-3].startswith("flood-49-011499 ")
    assert len(words["text"]) <= 65536


CRASH = "import ctypes\nx = 1\nctypes.string_at(0)\n"


def test_an_ended_kernels_last_words_outlive_the_server(tmp_path):
    server = start(tmp_path, "store", "--KernelManager.autorestart=False")
    try:
        kernel_id = ready_kernel(server)
        run_cells(server, kernel_id, [("import os\nos.write(2, b'KEPT-3a9\\n')", "c-1")])
        send_until(
            server,
            kernel_id,
            CRASH,
            "c-crash",
            lambda: (s := session(server, kernel_id)) and s["status"] == "exited",
            "the crash",
        )
        server.request("DELETE", f"api/kernels/{kernel_id}")
        before = wait_for(lambda: ended(server).get(kernel_id), "the ended record")
        server.stop()
        server.restart()
        after = wait_for(lambda: ended(server).get(kernel_id), "the ended record, read back")
    finally:
        server.stop()
    assert after["last_words"] == before["last_words"]
    words = after["last_words"]
    assert after["reason"] == "killed" and after["signal"] == 11
    assert "KEPT-3a9" in words["text"]
    assert "Fatal Python error: Segmentation fault" in words["text"]
    assert words["fault"]["cell_id"] == "c-crash" and words["fault"]["line"] == 3
    assert words["summary"] == (
        "Segmentation fault in cell [2] (c-crash), line 3: `ctypes.string_at(0)`"
    )
