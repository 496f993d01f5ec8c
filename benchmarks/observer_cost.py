"""What the extension's observers cost per kernel message, inside a real
server under 1,000 pipelined `pass` cells: thread CPU time around the IOPub
observer and the websocket observer (benchmarks/observer_probe). Steadier than
the on/off ratio of `run.py --cpu-only` (whole-process CPU, which varies by a
few percent run to run), so use it to steer and the ratio to report.

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
from harness import Client, Server  # noqa: E402
from run import NODELAY_OFF, settled  # noqa: E402


async def main(cells: int) -> None:
    out = Path(tempfile.mkdtemp()) / "observer_cost.txt"
    probe = str(Path(__file__).parent / "observer_probe")
    os.environ["OBSERVER_COST_OUT"] = str(out)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [probe, os.environ.get("PYTHONPATH")]))
    server = Server(True, NODELAY_OFF)
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
    spent = ast.literal_eval(out.read_text())
    total = 0.0
    for key, (seconds, calls) in spent.items():
        print(f"{key}: {calls} messages, {seconds / max(calls, 1) * 1e6:.1f} us each")
        total += seconds
    print(f"per cell: {total / cells * 1e6:.0f} us (messages of the kernel's start-up included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=3000)
    asyncio.run(main(parser.parse_args().cells))
