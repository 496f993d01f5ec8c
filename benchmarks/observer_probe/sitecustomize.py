"""Loaded by `benchmarks/observer_cost.py` into a server (PYTHONPATH): adds up
the thread CPU time the extension's two observers spend per message, and
writes the sums to $OBSERVER_COST_OUT on SIGUSR2. Not loaded otherwise."""

import os
import sys

if os.environ.get("OBSERVER_COST_OUT") and "ipykernel" not in " ".join(sys.argv):
    import signal
    import time

    from jupyter_session_ext import iopub_traffic, websocket_traffic

    spent = {"iopub": [0.0, 0], "websocket in": [0.0, 0], "websocket out": [0.0, 0]}
    clock = time.thread_time

    def timed(key, method):
        def measured(*args, **kwargs):
            start = clock()
            try:
                return method(*args, **kwargs)
            finally:
                spent[key][0] += clock() - start
                spent[key][1] += 1
        return measured

    iopub_traffic.IOPubObserver._receive = timed("iopub", iopub_traffic.IOPubObserver._receive)
    # The work behind each websocket message the observer looks at (the
    # byte test that skips the others costs too, and is not counted).
    mixin = websocket_traffic.ObservedConnectionMixin
    mixin._observe_incoming = timed("websocket in", mixin._observe_incoming)
    mixin._observe_outgoing = timed("websocket out", mixin._observe_outgoing)

    def write(*_):
        with open(os.environ["OBSERVER_COST_OUT"], "w") as out:
            out.write(repr({k: tuple(v) for k, v in spent.items()}))

    signal.signal(signal.SIGUSR2, write)  # (jupyter_server takes SIGUSR1)
