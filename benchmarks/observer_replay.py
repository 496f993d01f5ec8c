"""The observers' own code, warm: one cell's observed messages (the
execute_request a client sends, the kernel's busy, execute_input and idle on
IOPub), made by jupyter_client's Session as a kernel makes them, replayed
N times through the real chain: the IOPub observer's parsing (as after a
watcher that is not jupyter_server's own; with jupyter_server's, the parse
is shared with its job, activity_watcher.py, and observer_cost.py measures
both), the router, the status machine, the queue and history, Changes and
its listeners (the event emitter, the record of ended kernels). No server, no kernel, no
sockets: CPU time of this thread only. Take the median of a few runs, side
by side with the code to compare (PYTHONPATH=<other clone>): on a quiet
machine runs agree within a few percent, on a shared one a run is now and
then disturbed. observer_cost.py measures the same code inside a server,
where cold caches make it cost about three times as much, and run.py
--cpu-only the whole server.

    .venv/bin/python benchmarks/observer_replay.py [--cells 20000] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import json
import logging
import time

from jupyter_client.session import Session
from jupyter_events import EventLogger

from jupyter_session_ext.api.events import SessionEvents
from jupyter_session_ext.lifecycle.ended import EndedSessions
from jupyter_session_ext.state.changes import Changes
from jupyter_session_ext.state.kernel_state import KernelState
from jupyter_session_ext.state.record import TrackedKernel
from jupyter_session_ext.traffic.iopub import IOPubObserver
from jupyter_session_ext.traffic.routing import MessageRouter
from jupyter_session_ext.traffic.websocket import _client_message

KEY = b"replay"


class KernelManager:
    """What the observers ask of a kernel manager here: its session (the
    signing key) and the server's activity watcher, which there is none of:
    messages are handed to the observer as the watcher would hand them."""

    def __init__(self) -> None:
        self.session = Session(key=KEY)
        self._activity_stream = None


class Connection:
    """What `_client_message` reads of a websocket connection (legacy JSON)."""

    subprotocol = None

    def __init__(self, session: Session) -> None:
        self.session = session


def cells(kernel: Session, client: Session, n: int) -> list[tuple[str, list, list, list]]:
    made = []
    for i in range(n):
        request = client.msg(
            "execute_request",
            {
                "code": "pass",
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": True,
                "stop_on_error": True,
            },
        )
        ws = json.dumps({**request, "channel": "shell", "buffers": []}, default=str)

        def published(msg_type: str, content: dict, request: dict = request) -> list:
            return kernel.serialize(kernel.msg(msg_type, content, parent=request))

        made.append(
            (
                ws,
                published("status", {"execution_state": "busy"}),
                published("execute_input", {"code": "pass", "execution_count": i + 1}),
                published("status", {"execution_state": "idle"}),
            )
        )
    return made


async def main(n: int, profile: str | None) -> None:
    km = KernelManager()
    changes = Changes()
    kernels: dict[str, TrackedKernel] = {}
    router = MessageRouter(kernels, changes, current_cwd=lambda pid: None)
    events = SessionEvents(lambda kernel_id: 0, event_logger=EventLogger())
    changes.listen(events.changed)
    ended = EndedSessions()
    ended.listen(events.ended)
    changes.listen(ended.changed)
    tracked = kernels["k"] = TrackedKernel("k", KernelState())
    tracked.state.on_launch()
    tracked.state.on_kernel_info_reply({})
    iopub = IOPubObserver(
        km, functools.partial(router.on_iopub, tracked), logging.getLogger(__name__)
    )
    connection = Connection(km.session)
    replay = cells(km.session, Session(key=KEY), n)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started = time.thread_time()
    for ws, busy, execute_input, idle in replay:
        channel, msg = _client_message(connection, ws)
        router.on_client_message("k", channel, msg, "user")
        iopub._receive(busy, verified=True)
        iopub._receive(execute_input, verified=True)
        iopub._receive(idle, verified=True)
    spent = time.thread_time() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    assert tracked.state.history.total == n and not tracked.state.queue.active
    print(
        f"{spent / n * 1e6:.1f} us a cell (execute_request; busy, execute_input, idle), {n} cells"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20000)
    parser.add_argument("--profile", help="write cProfile stats of the replay here")
    args = parser.parse_args()
    asyncio.run(main(args.cells, args.profile))
