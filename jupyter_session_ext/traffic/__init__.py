"""Where kernel traffic is observed: each kernel's IOPub (`iopub.py`, riding
on jupyter_server's own watcher where it can: `activity_watcher.py`), the
kernel websockets and the gateway's relayed stream (`websocket.py`), and the
kernel_info request each new process is asked (`kernel_info.py`). What they
see reaches a kernel's state through `routing.py`.
"""
