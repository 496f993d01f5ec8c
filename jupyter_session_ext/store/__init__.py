"""What survives the server: ended kernels, each kernel's executions and
each notebook's cell durations in an SQLite file (`database.py`), written
by a thread of its own (`writer.py`) from rows (`rows.py`). Imports only the
state core; `lifecycle/persistence.py` connects it to the running server.
"""
