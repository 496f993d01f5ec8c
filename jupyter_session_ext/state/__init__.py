"""The state core: what is known of each kernel, as plain data and the rules
that keep it consistent. Nothing here imports tornado, ZMQ, jupyter_client or
jupyter_server (tests/test_layers.py checks it); the layers above feed it
what they observe (`traffic/`) and what the kernel manager and the OS say
(`lifecycle/`), and turn it into JSON (`api/serialize.py`).
"""
