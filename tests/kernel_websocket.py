"""A small Jupyter client over the server's kernel websocket, for tests that
run code in a real kernel. Speaks the legacy JSON protocol, or the v1 binary
protocol when opened with `v1=True`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

V1 = "v1.kernel.websocket.jupyter.org"


def _pack(obj: Any) -> bytes:
    return json.dumps(obj).encode()


class KernelWebsocket:
    def __init__(self, ws: Any, v1: bool) -> None:
        self.ws = ws
        self.v1 = v1
        self.session = uuid.uuid4().hex
        self.received: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, jp_ws_fetch: Any, kernel_id: str, v1: bool = False) -> KernelWebsocket:
        kwargs = {"subprotocols": [V1]} if v1 else {}
        ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels", **kwargs)
        assert (ws.selected_subprotocol == V1) == v1
        return cls(ws, v1)

    def send(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        parent: dict[str, Any] | None = None,
        msg_id: str | None = None,
    ) -> str:
        msg = {
            "header": {
                "msg_id": msg_id or uuid.uuid4().hex,
                "msg_type": msg_type,
                "session": self.session,
                "username": "test",
                "date": datetime.now(timezone.utc).isoformat(),
                "version": "5.3",
            },
            "parent_header": parent or {},
            "metadata": metadata or {},
            "content": content,
        }
        if self.v1:
            self.ws.write_message(serialize_msg_to_ws_v1(msg, channel, _pack), binary=True)
        else:
            self.ws.write_message(json.dumps({**msg, "channel": channel, "buffers": []}))
        return msg["header"]["msg_id"]

    def send_execute(self, code: str, cell_id: str | None = None, **content: Any) -> str:
        return self.send(
            "shell",
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
                **content,
            },
            metadata={"cellId": cell_id} if cell_id else None,
        )

    async def next_message(self) -> dict[str, Any]:
        raw = await self.ws.read_message()
        if raw is None:
            raise ConnectionError("kernel websocket closed")
        if self.v1:
            channel, parts = deserialize_msg_from_ws_v1(raw)
            msg = {
                "channel": channel,
                "header": json.loads(parts[0]),
                "parent_header": json.loads(parts[1]),
                "content": json.loads(parts[3]),
            }
        else:
            msg = json.loads(raw)
        self.received.append(msg)
        return msg

    async def wait_for(self, predicate: Any, timeout: float = 60) -> dict[str, Any]:
        """Read messages until one satisfies `predicate`; return it."""

        async def read() -> dict[str, Any]:
            while True:
                msg = await self.next_message()
                if predicate(msg):
                    return msg

        return await asyncio.wait_for(read(), timeout)

    async def finished(self, msg_id: str, timeout: float = 60) -> dict[str, Any]:
        """Wait until the kernel replied to `msg_id` and went idle after it;
        return the execute_reply content and the stdout it printed."""

        async def read() -> dict[str, Any]:
            while True:
                result = collect(self.received, msg_id)
                if result is not None:
                    return result
                await self.next_message()

        return await asyncio.wait_for(read(), timeout)

    async def execute(self, code: str, timeout: float = 60, **content: Any) -> dict[str, Any]:
        return await self.finished(self.send_execute(code, **content), timeout)

    def close(self) -> None:
        self.ws.close()


def collect(received: list[dict[str, Any]], msg_id: str) -> dict[str, Any] | None:
    """{"reply", "stdout"} of `msg_id` if its reply and idle status were received."""
    reply: dict[str, Any] | None = None
    stdout: list[str] = []
    idle = False
    for msg in received:
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if kind == "execute_reply":
            reply = msg["content"]
        elif kind == "stream" and msg["content"].get("name") == "stdout":
            stdout.append(msg["content"]["text"])
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    if reply is None or not idle:
        return None
    return {"reply": reply, "stdout": "".join(stdout)}
