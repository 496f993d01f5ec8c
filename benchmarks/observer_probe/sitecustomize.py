"""Loaded by `benchmarks/observer_cost.py` into a server (PYTHONPATH): adds up
the thread CPU time spent per message by the extension's observers and by
the server's IOPub activity watcher, and writes the sums to
$OBSERVER_COST_OUT on SIGUSR2. Not loaded otherwise."""

import os
import sys

if os.environ.get("OBSERVER_COST_OUT") and "ipykernel" not in " ".join(sys.argv):
    import signal
    import time

    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager

    spent: dict = {}
    clock = time.thread_time

    def timed(key, method):
        spent[key] = [0.0, 0]

        def measured(*args, **kwargs):
            start = clock()
            try:
                return method(*args, **kwargs)
            finally:
                spent[key][0] += clock() - start
                spent[key][1] += 1

        return measured

    if os.environ.get("OBSERVER_COST_WATCHER"):
        # The extension is off: jupyter_server's own watcher, as it runs.
        start_watching = MappingKernelManager.start_watching_activity

        def start_watching_activity(self, kernel_id):
            start_watching(self, kernel_id)
            stream = self._kernels[kernel_id]._activity_stream
            stream.on_recv(
                timed("server's activity watcher (jupyter_server's own)", stream._recv_callback)
            )

        MappingKernelManager.start_watching_activity = start_watching_activity
    else:
        from jupyter_session_ext.traffic import activity_watcher
        from jupyter_session_ext.traffic import iopub as iopub_traffic
        from jupyter_session_ext.traffic import websocket as websocket_traffic

        observer = iopub_traffic.IOPubObserver
        observer._receive_parsed = timed("iopub", observer._receive_parsed)
        observer._receive = timed("iopub, parsed by us (another watcher)", observer._receive)
        server = activity_watcher.ServerActivity
        server.record = timed(
            "server's activity watcher (its job, done by the extension)", server.record
        )
        # The work behind each websocket message the observer looks at (the
        # byte test that skips the others costs too, and is not counted).
        mixin = websocket_traffic.ObservedConnectionMixin
        mixin._observe_incoming = timed("websocket in", mixin._observe_incoming)
        mixin._observe_outgoing = timed("websocket out", mixin._observe_outgoing)

    def write(*_):
        with open(os.environ["OBSERVER_COST_OUT"], "w") as out:
            out.write(repr({k: tuple(v) for k, v in spent.items()}))

    signal.signal(signal.SIGUSR2, write)  # (jupyter_server takes SIGUSR1)
