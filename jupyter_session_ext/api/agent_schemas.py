"""The agent tools' contract: each tool's name, description, the schema of
its arguments and of its answer, and the shaping of the arguments an agent
sends (untrusted input: types, ranges and names checked here, before any
tool reads them).

The answers' schemas are the `Agent*` schemas of the API's OpenAPI
document (and the REST schemas they refer to), so the REST API and the
agents share one description of a kernel.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jupyter_events.yaml import load

from ..untrusted import number, text

OPENAPI_PATH = Path(__file__).parent / "openapi.yaml"

# JSON-RPC's code for arguments that cannot be used (MCP's, too, for an
# unknown tool); and one of the range JSON-RPC leaves to servers, for a
# caller the server's Authorizer does not allow.
INVALID_PARAMS = -32602
FORBIDDEN = -32003

KERNEL_MAX = 1000  # characters: a kernel id is 36, a notebook path rarely 200
LIMIT_MAX = 1000
LIMIT_DEFAULT = 20
WAIT_DEFAULT = 60.0

_KERNEL = {
    "type": "string",
    "minLength": 1,
    "maxLength": KERNEL_MAX,
    "description": (
        "The kernel's id (as list_kernels names it, or a unique prefix of it), "
        "or the path of the notebook it runs (e.g. 'analysis/train.ipynb')."
    ),
}
_LIMIT = {
    "type": "integer",
    "minimum": 1,
    "maximum": LIMIT_MAX,
    "default": LIMIT_DEFAULT,
    "description": "At most this many, newest first.",
}


class ToolError(Exception):
    """A JSON-RPC error for the caller: `code` and a message that says what
    to do instead, quoting what the caller sent only through `preview`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: dict[str, dict[str, Any]]  # name -> JSON schema
    required: tuple[str, ...]
    answer: str  # the OpenAPI schema of its structured answer
    reads: bool = True  # False: it changes the kernel

    def input_schema(self, max_wait: float) -> dict[str, Any]:
        properties = copy.deepcopy(self.arguments)
        if "timeout_seconds" in properties:
            properties["timeout_seconds"]["maximum"] = max_wait
        return {
            "type": "object",
            "properties": properties,
            "required": list(self.required),
            "additionalProperties": False,
        }

    def output_schema(self) -> dict[str, Any]:
        return answer_schema(self.answer)


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "list_kernels",
            "Every kernel of this Jupyter server, in brief: its id, notebook, kernel "
            "name, status (busy, idle, starting...), for how long it has been busy or "
            "idle, what it runs (the cell's first line, and how long it ran against "
            "how long it took last time), how many cells are queued behind it, and its "
            "memory against the limit. Start here before running code in a notebook: "
            "a busy kernel runs new code only after what it is running and what is "
            "queued.",
            {},
            (),
            "AgentKernelList",
        ),
        Tool(
            "kernel_status",
            "The whole record of one kernel: status and timers, the running cell and "
            "the queue behind it (with code, for who may execute), the expected "
            "remaining time of the running cell from its last run, the process, "
            "connections, culling, memory and why it last restarted.",
            {"kernel": _KERNEL},
            ("kernel",),
            "AgentKernelStatus",
        ),
        Tool(
            "wait_for_idle",
            "Wait until the kernel is idle (nothing running, nothing queued), at most "
            "timeout_seconds; returns at once if it is idle already. Says what "
            "finished meanwhile (cell id, ok/error/aborted, duration, error name), or, "
            "on timeout, that it is still busy and what it runs. Also returns when "
            "the kernel waits on input() (a person must answer) or its process ends. "
            "Use it instead of sleeping or polling.",
            {
                "kernel": _KERNEL,
                "timeout_seconds": {
                    "type": "number",
                    "minimum": 0,
                    "default": WAIT_DEFAULT,
                    "description": "How long to wait at most, in seconds.",
                },
            },
            ("kernel",),
            "AgentWait",
        ),
        Tool(
            "kernel_history",
            "A kernel's last finished executions, newest first: cell id, status, "
            "duration, error name, what it did to memory (and code, for who may "
            "execute). Works for a kernel that ended while its record is kept.",
            {"kernel": _KERNEL, "limit": _LIMIT},
            ("kernel",),
            "AgentHistory",
        ),
        Tool(
            "ended_kernels",
            "Kernels that are gone, newest first, and why: shut down (by whom), "
            "culled when idle, exited, killed, killed by the out-of-memory killer "
            "(with its memory against the limit), or the server stopped; with what "
            "each last ran.",
            {"limit": _LIMIT},
            (),
            "EndedList",
        ),
        Tool(
            "memory_headroom",
            "The server's memory against its limit (the container's cgroup, "
            "MEM_LIMIT, or the host): used, left, whether the out-of-memory warning "
            "is on, and the largest kernels first. Check it before loading a large "
            "dataset.",
            {},
            (),
            "AgentMemory",
        ),
        Tool(
            "interrupt_kernel",
            "Interrupt the cell the kernel runs (KeyboardInterrupt in Python), the "
            "way its kernelspec says (signal or message). Needs permission to "
            "execute code on kernels. Cells queued behind it are aborted by the "
            "kernel.",
            {"kernel": _KERNEL},
            ("kernel",),
            "AgentInterrupt",
            reads=False,
        ),
    )
}
READ_TOOLS = tuple(name for name, tool in TOOLS.items() if tool.reads)


def preview(value: Any) -> str:
    """What the caller sent, short and as JSON (never its repr)."""
    try:
        shown = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        shown = type(value).__name__
    return shown if len(shown) <= 40 else shown[:39] + "…"


def arguments(tool: Tool, given: Any, max_wait: float) -> dict[str, Any]:
    """`given` (a tools/call's `arguments`) as the tool's keyword arguments,
    or ToolError saying what is wrong with it. Nothing is coerced: "10" is no
    number, and NaN (read as null) no timeout."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ToolError(INVALID_PARAMS, f"{tool.name}: arguments must be an object.")
    unknown = sorted(set(given) - set(tool.arguments))
    if unknown:
        takes = ", ".join(tool.arguments) or "no arguments"
        raise ToolError(
            INVALID_PARAMS,
            f"{tool.name}: unknown argument {preview(unknown[0])}; it takes {takes}.",
        )
    for name in tool.required:
        if name not in given:
            raise ToolError(INVALID_PARAMS, f"{tool.name}: argument {name!r} is required.")
    shaped: dict[str, Any] = {}
    for name, value in given.items():
        shaped[name] = _shape(tool.name, name, value, max_wait)
    return shaped


def _shape(tool: str, name: str, value: Any, max_wait: float) -> Any:
    if name == "kernel":
        kept = text(value, KERNEL_MAX + 1)
        if not kept or not kept.strip() or len(kept) > KERNEL_MAX:
            raise ToolError(
                INVALID_PARAMS,
                f"{tool}: 'kernel' must be a kernel id or a notebook path (a string of 1 to "
                f"{KERNEL_MAX} characters), not {preview(value)}.",
            )
        return kept.strip()
    if name == "timeout_seconds":
        seconds = number(value, 0, max_wait)
        if seconds is None:
            raise ToolError(
                INVALID_PARAMS,
                f"{tool}: 'timeout_seconds' must be a number of seconds from 0 to "
                f"{max_wait:g}, not {preview(value)}.",
            )
        return seconds
    if name == "limit":
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 5.0 is a whole number in JSON
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LIMIT_MAX:
            raise ToolError(
                INVALID_PARAMS,
                f"{tool}: 'limit' must be a whole number from 1 to {LIMIT_MAX}, "
                f"not {preview(value)}.",
            )
        return value
    raise ToolError(INVALID_PARAMS, f"{tool}: unknown argument {name!r}.")  # pragma: no cover


@lru_cache(maxsize=1)
def _components() -> dict[str, Any]:
    document: dict[str, Any] = load(OPENAPI_PATH)
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


_PREFIX = "#/components/schemas/"


def answer_schema(name: str) -> dict[str, Any]:
    """The OpenAPI schema `name` as a JSON Schema of its own: what it refers
    to under `$defs`, as MCP's outputSchema must stand alone."""
    components = _components()
    needed: dict[str, Any] = {}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_PREFIX):
                target = ref[len(_PREFIX) :]
                if target not in needed:
                    needed[target] = None  # (a schema that refers to itself)
                    needed[target] = rewrite(components[target])
                return {**{k: rewrite(v) for k, v in node.items()}, "$ref": "#/$defs/" + target}
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    root: dict[str, Any] = rewrite(components[name])
    if needed:
        root["$defs"] = needed
    return root
