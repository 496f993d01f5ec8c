"""Beside jupyter-server-documents 0.3.3: its frontend asks the server to run
cells (`POST /api/kernels/{id}/execute`, `{"document_id", "cells":
[{"cell_id", "source_hash"}]}`) and runs them with a kernel client of its
own. The browser test (ui-tests/tests/server_documents.spec.ts) runs it for
real in Chromium; here, the parts a browser cannot reach: the hash we match
running code by is the peer's own, and what its requests carry is shaped
and capped, whatever a client puts in them."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

from jupyter_session_ext.state.changes import Changes
from jupyter_session_ext.state.kernel_state import KernelState
from jupyter_session_ext.state.queue import source_hash
from jupyter_session_ext.state.record import TrackedKernel
from jupyter_session_ext.traffic.routing import MessageRouter
from jupyter_session_ext.traffic.server_execution import MAX_CELLS, ServerExecutionTransform

from peer_venv import SERVER_DOCUMENTS, peer_python

SOURCES = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "import time\ntime.sleep(6)",
    "print('héllo ☃ 𝄞')\n" * 40,
    "\x00\r\n\t\u202e",
]


def test_the_hash_is_jupyter_server_documents_own():
    theirs = subprocess.run(
        [
            peer_python("server-documents", SERVER_DOCUMENTS),
            "-c",
            "import json, sys\n"
            "from jupyter_server_documents.rooms.ynotebook_room import _source_hash\n"
            "print(json.dumps([_source_hash(s) for s in json.load(sys.stdin)]))",
        ],
        input=json.dumps(SOURCES),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(theirs.stdout) == [source_hash(s) for s in SOURCES]


KERNEL = str(uuid.uuid4())


def observed(body: object) -> TrackedKernel:
    """The kernel's record after jupyter-server-documents accepted `body`."""
    tracked = TrackedKernel(KERNEL, KernelState())
    router = MessageRouter({KERNEL: tracked}, Changes(), lambda pid: None)
    transform = type(
        "T",
        (ServerExecutionTransform,),
        {"router": router, "log": None, "settings": {}},
    )
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = SimpleNamespace(method="POST", path=f"/api/kernels/{KERNEL}/execute", body=raw)
    transform(request).transform_first_chunk(200, {}, b"null", True)
    return tracked


def pending(tracked: TrackedKernel) -> list[tuple[str | None, str | None]]:
    return [(e.cell_id, e.source_hash) for e in tracked.state.queue.pending]


def test_queued_cells_are_pending_in_order_and_the_running_one_found_by_its_hash():
    code = "import time\ntime.sleep(6)"
    tracked = observed(
        {
            "document_id": "json:notebook:x",
            "cells": [
                {"cell_id": "one", "source_hash": source_hash(code)},
                {"cell_id": "two", "source_hash": source_hash("second = 2")},
            ],
        }
    )
    assert pending(tracked) == [("one", source_hash(code)), ("two", source_hash("second = 2"))]
    now = datetime.now(timezone.utc).isoformat()
    msg_id = str(uuid.uuid4())
    tracked.state.on_iopub(
        {
            "header": {"msg_id": "m", "msg_type": "execute_input", "date": now},
            "parent_header": {"msg_id": msg_id, "msg_type": "execute_request"},
            "content": {"code": code, "execution_count": 1},
        }
    )
    active = tracked.state.queue.active
    assert active is not None and active.msg_id == msg_id and active.cell_id == "one"
    assert pending(tracked) == [("two", source_hash("second = 2"))]


def test_hostile_bodies_change_nothing_or_are_capped():
    for body in (
        b"\xff\xfe not json",
        b"[1, 2]",
        {"document_id": 7, "cells": [{"cell_id": "a", "source_hash": "1"}]},
        {"document_id": "d", "cells": "everything"},
        {"document_id": "d", "cells": [{"cell_id": "a", "source_hash": "-1"}]},
        {"document_id": "d", "cells": [{"cell_id": "a", "source_hash": "9" * 11}]},
        {"document_id": "d", "cells": [{"cell_id": ["a"], "source_hash": "1"}]},
        {"document_id": "d", "cells": [None, 3, "cell"]},
        {"code": "nbmodel's body, answered 202 not 200", "metadata": {"cell_id": "a"}},
    ):
        assert pending(observed(body)) == [], body
    # A body past 8 MB is not read at all.
    huge = [{"cell_id": "c" * 100_000, "source_hash": "1"}] * 100
    assert pending(observed({"document_id": "d", "cells": huge})) == []
    long_id = "c" * 5_000
    tracked = observed(
        {"document_id": "d", "cells": [{"cell_id": long_id, "source_hash": "1"}] * (MAX_CELLS + 50)}
    )
    queue = tracked.state.queue
    assert len(queue) == MAX_CELLS  # counted whole, up to the cap of one request
    assert len(queue.pending) <= queue.max_pending
    assert all(len(e.cell_id or "") <= 256 for e in queue.pending)
