"""What the extension's observers cost per kernel message, inside a real
server under pipelined `pass` cells: thread CPU time around the IOPub
observer and the websocket observer (benchmarks/observer_probe). Beside them,
the server's IOPub activity watcher: its job as the extension does it
(activity_watcher.py), and jupyter_server's own in a server with the
extension off. Steadier than the on/off ratio of `run.py --cpu-only`
(whole-process CPU, which varies by a few percent run to run), so use it to
steer and the ratio to report.

    .venv/bin/python benchmarks/observer_cost.py [--cells 3000]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cpu_per_cell import NODELAY_OFF  # noqa: E402
from run import settled  # noqa: E402

from harness import Client, Server  # noqa: E402


async def measure(enabled: bool, cells: int) -> dict[str, tuple[float, int]]:
    out = Path(tempfile.mkdtemp()) / "observer_cost.txt"
    os.environ["OBSERVER_COST_OUT"] = str(out)
    os.environ.pop("OBSERVER_COST_WATCHER", None)
    if not enabled:
        os.environ["OBSERVER_COST_WATCHER"] = "1"
    server = Server(enabled, NODELAY_OFF if enabled else None)
    try:
        client = await Client.open(server, server.start_kernel())
        await settled()
        await client.run(["pass"] * cells)
        client.close()
        os.kill(server.proc.pid, signal.SIGUSR2)
        for _ in range(100):
            if out.exists():
                break
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    return ast.literal_eval(out.read_text())


async def main(cells: int) -> None:
    probe = str(Path(__file__).parent / "observer_probe")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [probe, os.environ.get("PYTHONPATH")]))
    for enabled in (True, False):
        print("extension on:" if enabled else "extension off:")
        total = 0.0
        for key, (seconds, calls) in (await measure(enabled, cells)).items():
            print(
                f"  {key}: {calls} messages, {seconds / max(calls, 1) * 1e6:.1f} us each, "
                f"{seconds / cells * 1e6:.0f} us a cell"
            )
            if "watcher" not in key:
                total += seconds
        if enabled:
            print(
                f"  the observers, per cell: {total / cells * 1e6:.0f} us "
                "(messages of the kernel's start-up included)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=3000)
    asyncio.run(main(parser.parse_args().cells))
