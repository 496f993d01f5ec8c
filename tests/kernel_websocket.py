"""A minimal Jupyter client over the server's kernel websocket (legacy JSON
protocol), for tests that need to run code in a real kernel."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from typing import Any


def request(msg_type: str, content: dict[str, Any], session: str, channel: str = "shell",
            metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": session,
            "username": "test",
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": metadata or {},
        "content": content,
        "channel": channel,
        "buffers": [],
    }


class KernelWebsocket:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex

    @classmethod
    async def open(cls, jp_ws_fetch: Any, kernel_id: str) -> "KernelWebsocket":
        ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
        return cls(ws)

    def send_execute(self, code: str, cell_id: str | None = None, **content: Any) -> str:
        msg = request(
            "execute_request",
            {"code": code, "silent": False, "store_history": True,
             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True, **content},
            self.session,
            metadata={"cellId": cell_id} if cell_id else None,
        )
        self.ws.write_message(json.dumps(msg))
        return msg["header"]["msg_id"]

    async def execute(self, code: str, timeout: float = 60) -> dict[str, Any]:
        """Run `code`; return {"reply": content, "stdout": text} once the kernel
        is idle again for this request."""
        msg_id = self.send_execute(code)
        stdout: list[str] = []
        reply: dict[str, Any] | None = None
        idle = False

        async def read() -> None:
            nonlocal reply, idle
            while reply is None or not idle:
                raw = await self.ws.read_message()
                if raw is None:
                    raise ConnectionError("kernel websocket closed")
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["header"]["msg_type"]
                if kind == "stream" and msg["content"].get("name") == "stdout":
                    stdout.append(msg["content"]["text"])
                elif kind == "execute_reply":
                    reply = msg["content"]
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True

        await asyncio.wait_for(read(), timeout)
        assert reply is not None
        return {"reply": reply, "stdout": "".join(stdout)}

    def close(self) -> None:
        self.ws.close()
