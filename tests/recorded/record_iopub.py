"""Regenerate the recorded kernel traffic the state-machine tests replay.

    python tests/recorded/record_iopub.py

Starts a real ipykernel with jupyter_client, runs each scenario, and writes
every shell request sent and IOPub message received, in order, to
`<scenario>.json` (headers, parent headers and content; no keys, no buffers).
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import start_new_kernel

HERE = Path(__file__).parent

SCENARIOS = {
    # Three cells sent at once: the first sleeps, the others wait behind it.
    "queued_cells": [
        ("cell-a", "import time; time.sleep(0.5)"),
        ("cell-b", "x = 1"),
        ("cell-c", "print(x)"),
    ],
    # An error with stop_on_error: the kernel aborts what was queued behind it.
    "error_aborts_queue": [
        ("cell-a", "raise ValueError('boom')"),
        ("cell-b", "y = 2"),
        ("cell-c", "y"),
    ],
}


def _clean(msg: dict) -> dict:
    keep = ("msg_id", "msg_type", "session", "username", "date")
    return {
        "header": {k: str(msg["header"].get(k)) for k in keep},
        "parent_header": {
            k: str(msg["parent_header"][k]) for k in keep if k in msg["parent_header"]
        },
        "content": msg["content"],
    }


def record(cells: list[tuple[str, str]]) -> list[dict]:
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        # Drain the start-up traffic (kernel_info of start_new_kernel).
        while True:
            try:
                kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                break
        events = []
        sent = []
        for cell_id, code in cells:
            msg = kc.session.msg(
                "execute_request",
                {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
                metadata={"cellId": cell_id},
            )
            kc.shell_channel.send(msg)
            sent.append(msg["header"]["msg_id"])
            events.append(
                {
                    "channel": "shell",
                    "direction": "sent",
                    **_clean(msg),
                    "metadata": {"cellId": cell_id},
                }
            )
        replies = 0
        idle_for = set()
        while replies < len(sent) or idle_for != set(sent):
            try:
                msg = kc.get_iopub_msg(timeout=0.05)
                events.append({"channel": "iopub", **_clean(msg)})
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle_for.add(msg["parent_header"].get("msg_id"))
            except queue.Empty:
                pass
            try:
                reply = kc.get_shell_msg(timeout=0.05)
                events.append({"channel": "shell", "direction": "received", **_clean(reply)})
                replies += 1
            except queue.Empty:
                pass
        return events
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    from server_process import own_dirs

    # The kernels' connection files and history in folders of their own,
    # not the user's.
    with tempfile.TemporaryDirectory(prefix="record-iopub-") as dirs:
        os.environ.update(own_dirs(Path(dirs)))
        for name, cells in SCENARIOS.items():
            events = record(cells)
            (HERE / f"{name}.json").write_text(json.dumps(events, indent=1, default=str) + "\n")
            print(f"{name}: {len(events)} messages", file=sys.stderr)


if __name__ == "__main__":
    main()
