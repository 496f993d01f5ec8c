"""Where the outside meets the extension: HTTP enters in `handlers.py`
(checked by `validation.py`), state becomes JSON in `serialize.py` and
nowhere else, changes go onto the server's event bus in `events.py`, and
Prometheus reads `metrics.py`. `openapi.yaml` and `event_schemas/` are the
contract.
"""
