"""Following the server's kernel manager: which kernels exist and what each
process is (`tracker.py`, `process.py`), what listens to each kernel
(`channels.py`), the Jupyter sessions bound to them (`jupyter_sessions.py`),
their CPU and memory (`resources.py`), when they will be culled
(`culling.py`), why they ended (`ended.py`), and what a client may do to
them (`actions.py`).
"""
