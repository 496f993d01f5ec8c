"""Where kernel traffic is observed (3): executions asked of the server over
HTTP, which a server extension then sends the kernel itself.

jupyter-server-nbmodel (tested with 0.2.9) takes `POST
/api/kernels/{id}/execute` (`{"code", "metadata": {"cell_id"}}`), answers
202 with its `request_id`, queues the request in the server and sends one at
a time over ZMQ with a client of its own. No websocket carries those
requests, and IOPub names no cell: so they are seen here, as the server
answers them (a tornado output transform is given each request and the first
chunk of its answer), and listed as pending until IOPub shows the kernel
running the same code; that execution then takes their cell id
(state/queue.py: `adopt`). `DELETE /api/kernels/{id}/requests/{request_id}`
takes one back.

jupyter-server-documents (tested with 0.3.3) takes the same route with
`{"document_id", "cells": [{"cell_id", "source_hash"}]}`, answers 200, and
runs each cell in order with a kernel client of its own. Its body has no
code, only a hash of each cell's source (the one it checked against the
shared document): the cells are listed pending, the hash finds each one
when IOPub shows it running, and their code is read from the shared
document (`jupyter_server_ydoc`, the API jupyter-collaboration provides and
jupyter-server-documents too) to show it while it waits.

Everything read here is a client's: shaped into known types, capped, and
never raised into the server (a failure is logged; the answer goes out
unchanged). Only POST and DELETE whose path ends as above are looked at.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from typing import Any

from tornado.web import OutputTransform

from .routing import MessageRouter

NBMODEL = "jupyter-server-nbmodel"
SERVER_DOCUMENTS = "jupyter-server-documents"
# Cells of one request looked at (each is a pending entry: the queue keeps
# `max_pending` of them whole anyway).
MAX_CELLS = 1000
_HASH = re.compile(r"[0-9]{1,10}")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_EXECUTE = re.compile(rf"/api/kernels/({_UUID})/execute$")
_CANCEL = re.compile(rf"/api/kernels/({_UUID})/requests/({_UUID})$")
# A request body is parsed only up to this size (what is shown of its code is
# a preview anyway); nbmodel's answer is a few hundred bytes.
MAX_BODY = 8 * 2**20
MAX_ANSWER = 64 * 2**10


def _json(raw: bytes, limit: int) -> dict[str, Any]:
    if len(raw) > limit:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ServerExecutionTransform(OutputTransform):
    """Made by tornado for every request; looks only at the few above."""

    router: MessageRouter
    log: logging.Logger
    settings: dict[str, Any]

    def __init__(self, request: Any) -> None:
        self.request = request

    def transform_first_chunk(
        self, status_code: int, headers: Any, chunk: bytes, finishing: bool
    ) -> tuple[int, Any, bytes]:
        method, path = self.request.method, self.request.path
        if method in ("POST", "DELETE") and 200 <= status_code < 300:
            try:
                self._observe(method, status_code, chunk)
            except Exception:
                self.log.exception("Active sessions: could not read %s %s", method, path)
        return status_code, headers, chunk

    def _observe(self, method: str, status_code: int, chunk: bytes) -> None:
        path = self.request.path
        if method == "POST" and status_code == 200:
            found = _EXECUTE.search(path)
            if found is not None:
                self._observe_cells(found.group(1))
            return
        if method == "POST" and status_code == 202:
            found = _EXECUTE.search(path)
            if found is None:
                return
            answer = _json(chunk, MAX_ANSWER)
            request_id = _text(answer.get("request_id"))
            if not request_id or not re.fullmatch(_UUID, request_id):
                return  # not nbmodel's answer
            body = _json(self.request.body or b"", MAX_BODY)
            metadata = body.get("metadata")
            cell_id = _text(metadata.get("cell_id")) if isinstance(metadata, dict) else None
            self.router.on_server_execute(
                found.group(1), NBMODEL, request_id, _text(body.get("code")) or "", cell_id
            )
        elif method == "DELETE":
            found = _CANCEL.search(path)
            if found is not None:
                self.router.on_server_execute_cancelled(found.group(1), NBMODEL, found.group(2))

    def _observe_cells(self, kernel_id: str) -> None:
        """jupyter-server-documents queued these cells, in this order."""
        body = _json(self.request.body or b"", MAX_BODY)
        document_id, cells = _text(body.get("document_id")), body.get("cells")
        if not document_id or not isinstance(cells, list):
            return  # not its request
        queued: dict[str, str] = {}  # request id (ours) -> cell id
        for cell in cells[:MAX_CELLS]:
            if not isinstance(cell, dict):
                continue
            cell_id, hashed = _text(cell.get("cell_id")), _text(cell.get("source_hash"))
            if not cell_id or hashed is None or not _HASH.fullmatch(hashed):
                continue
            request_id = str(uuid.uuid4())
            self.router.on_server_execute(
                kernel_id, SERVER_DOCUMENTS, request_id, "", cell_id, hashed
            )
            queued[request_id] = cell_id
        documents = self.settings.get("jupyter_server_ydoc")
        if queued and documents is not None:
            task = asyncio.ensure_future(self._describe(documents, kernel_id, document_id, queued))
            task.add_done_callback(self._described)

    async def _describe(
        self, documents: Any, kernel_id: str, document_id: str, queued: dict[str, str]
    ) -> None:
        """Show the queued cells' code, from the shared document."""
        document = await documents.get_document(room_id=document_id, copy=False)
        wanted = set(queued.values())
        sources: dict[str, str] = {}
        for ycell in document.ycells:
            cell_id = ycell.get("id")
            if isinstance(cell_id, str) and cell_id in wanted:
                sources[cell_id] = str(ycell.get("source", ""))
        for request_id, cell_id in queued.items():
            if cell_id in sources:
                self.router.on_server_execute_code(
                    kernel_id, SERVER_DOCUMENTS, request_id, sources[cell_id]
                )

    def _described(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.warning(
                "Active sessions: could not read queued cells' code from the shared document: %r",
                task.exception(),
            )

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        return chunk


def install(web_app: Any, router: MessageRouter, log: logging.Logger) -> type:
    """Add a transform reporting to `router` to the server's web app, first:
    after the gzip transform it would read compressed answers."""
    cls = type(
        "ObservedServerExecutions",
        (ServerExecutionTransform,),
        {"router": router, "log": log, "settings": web_app.settings, "__module__": __name__},
    )
    uninstall(web_app)  # loaded again: one layer, reporting to the new router
    web_app.transforms.insert(0, cls)
    return cls


def uninstall(web_app: Any, router: MessageRouter | None = None) -> None:
    """Take ours (for `router`, or any) out of the web app's transforms."""
    web_app.transforms[:] = [
        t
        for t in web_app.transforms
        if not (
            isinstance(t, type)
            and issubclass(t, ServerExecutionTransform)
            and (router is None or t.router is router)
        )
    ]
