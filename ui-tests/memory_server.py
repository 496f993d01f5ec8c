"""A third server for the browser tests, inside a real memory cgroup of
3 GiB when this machine lets one be made (root, a writable memory
controller), so memory.spec.ts sees a real limit, a real warning and a real
OOM kill. Without one it starts anyway, and the spec skips, saying why.

The server runs as a child: when it ends (Playwright stops it), the cgroup
is emptied and removed. A cgroup a killed run left behind is removed at the
next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

LIMIT = 3 * 1024**3
V1 = Path("/sys/fs/cgroup/memory")
NAME = "jse-galata-memory"


def empty_and_remove(path: Path) -> None:
    deadline = time.monotonic() + 20
    while path.exists():
        for pid in (path / "cgroup.procs").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            path.rmdir()
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)


def make_cgroup() -> Path | None:
    if not ((V1 / "memory.limit_in_bytes").exists() and os.access(V1, os.W_OK)):
        print("memory_server: no writable memory cgroup; starting without a limit", flush=True)
        return None
    path = V1 / NAME
    empty_and_remove(path)
    path.mkdir()
    (path / "memory.limit_in_bytes").write_text(str(LIMIT))
    return path


def main() -> int:
    cgroup = make_cgroup()
    here = Path(__file__).parent
    argv = ["jupyter", "lab", "--config", str(here / "jupyter_server_memory_config.py")]

    def enter() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    server = subprocess.Popen(argv, preexec_fn=enter)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.send_signal(signal.SIGTERM))
    try:
        return server.wait()
    finally:
        if cgroup is not None:
            empty_and_remove(cgroup)


if __name__ == "__main__":
    sys.exit(main())
