"""Everything from outside the server, shaped before anything else reads it.

Outside is: a client's request body, query parameters and websocket frames;
a kernel's IOPub, shell and stdin messages; rows read back from the store;
a user's server's answer in the JupyterHub fleet service. Each of those
boundaries goes through the shapers here, which keep one contract:

* time linear in the input's size (no scanner that restarts per
  character: 4x the size costs at most ~4x the time; tests/test_shapers.py
  fuzzes each with Hypothesis and measures that ratio);
* caps on size, depth, string lengths and numbers; numbers finite; dates
  aware UTC between 1970 and 2200, anything else None;
* nothing raised but `Refused` (where a value is required): a bad record
  is skipped and counted by its caller, never fails a whole answer;
* log lines about it rate-limited per cause and escaped (`log.py`).

This package imports nothing else of ours: every layer may use it.
"""

from .document import loads, structure, too_deep
from .log import LogLimiter, printable, printable_lines
from .messages import IDENTIFIER_MAX, Header, Message, digest_id, identifier, message
from .values import (
    EARLIEST,
    LATEST,
    Refused,
    date,
    integer,
    json_value,
    mapping,
    number,
    one_of,
    text,
    whole,
)

__all__ = [
    "EARLIEST",
    "Header",
    "IDENTIFIER_MAX",
    "LATEST",
    "LogLimiter",
    "Message",
    "Refused",
    "date",
    "digest_id",
    "identifier",
    "integer",
    "json_value",
    "loads",
    "mapping",
    "message",
    "number",
    "one_of",
    "printable",
    "printable_lines",
    "structure",
    "text",
    "too_deep",
    "whole",
]
