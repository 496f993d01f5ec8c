"""A soak with faults: many kernels for many minutes on a real server, with
the registry checked every second against the ground truth its clients hold.

    .venv/bin/python benchmarks/soak.py [--kernels 30] [--minutes 10] [--seed 1 2 3]

Clients (one per kernel, a second on every fifth) run random work: quick
cells, long sleeps, errors with stop_on_error and the cells aborted behind
them, `input()` answered late. Between them come interrupts, restarts,
`kill -9` of kernel processes (jupyter_client restarts them), websockets
dropped mid-execution, kernels shut down and new ones started.

Every second, GET api/active-sessions is checked against what the clients
saw on their websockets (they hear every reply and every IOPub status):
- no pending or active entry whose reply a client received over 2 s ago;
- no active entry while the kernel has been idle (as clients saw) for 3 s;
- the status agrees with the clients' for any stretch of 3 s (busy vs idle);
- every kernel shut down is gone from the list within 3 s.
At the end: mismatches, 5xx answers, tracebacks in the server log and the
server's RSS from start to end. Not part of `make test`; the figures go to
benchmarks/RESULTS.md (its "soak" section).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from harness import Server, machine, update_results

GRACE = 2.0  # seconds a reply may take to reach the registry's view
STABLE = 3.0  # seconds a disagreement on status or an idle-but-active may last


@dataclass
class Truth:
    """What the clients of one kernel have seen."""

    replied: dict[str, float] = field(default_factory=dict)  # msg_id -> when
    # The last execute-parented IOPub status and when; None until one is seen.
    state: str | None = None
    state_at: float = 0.0
    # Since when the registry and the clients disagree (busy vs idle), if they do.
    disagree_since: float | None = None
    active_idle_since: float | None = None
    lifecycle_at: float = 0.0  # last restart/kill/interrupt/reconnect
    # What happened to the kernel lately (the soak's faults, and the process
    # changes the listing showed), printed beside a mismatch: (wall time, what).
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    seen_process: tuple[Any, ...] | None = None

    def event(self, what: str) -> None:
        self.events.append((datetime.now(), what))

    def lifecycle(self, forget: bool = True) -> None:
        """A restart, kill or dropped client: what the clients saw of the
        kernel's state may no longer hold (a killed kernel says nothing)."""
        self.lifecycle_at = time.monotonic()
        if forget:
            self.state = None


# A line of the server's own log: "[I 2026-12-01 13:51:29.764 ServerApp] ...".
SERVER_LINE = re.compile(r"\[[DIWEC] \d{4}-\d\d-\d\d ")


def tracebacks(log: str) -> tuple[int, int]:
    """(the server's, the kernels') tracebacks in the server's log. Kernels
    inherit the server's stderr: one killed or restarted mid-reply prints its
    own ("[IPKernelApp] ERROR | Exception in message handler", or tornado's
    "ERROR:tornado.general:Uncaught exception in zmqstream callback" in
    Python's default log format, as a kernel's sockets close under it); those
    are the faults working as meant, not the server failing. The server's
    own say so in its log format on the line before."""
    server = kernels = 0
    parts = log.split("Traceback (most recent call last):")
    for before, block in zip(parts, parts[1:], strict=False):
        frames = block.split("\n[", 1)[0]  # up to the next log line
        said = before.rstrip("\n").rsplit("\n", 1)[-1]
        ours = "jupyter_server" in frames or "jupyter_session_ext" in frames
        if not ours and ("ipykernel" in frames or not SERVER_LINE.match(said)):
            kernels += 1
        else:
            server += 1
    return server, kernels


class SoakClient:
    def __init__(self, soak: Soak, kernel_id: str) -> None:
        self.soak = soak
        self.kernel_id = kernel_id
        self.session = uuid.uuid4().hex
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.pending_input: dict[str, Any] = {}

    async def open(self) -> None:
        self.ws = await websocket_connect(
            self.soak.server.http_request(
                f"api/kernels/{self.kernel_id}/channels?session_id={self.session}", websocket=True
            )
        )
        self.reader = asyncio.ensure_future(self._read())

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None
        if self.reader is not None:
            self.reader.cancel()

    def send(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        parent: dict[str, Any] | None = None,
    ) -> str | None:
        if self.ws is None:
            return None
        msg_id = uuid.uuid4().hex
        try:
            self.ws.write_message(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "msg_type": msg_type,
                            "session": self.session,
                            "username": "soak",
                            "version": "5.3",
                            "date": datetime.now(timezone.utc).isoformat(),
                        },
                        "parent_header": parent or {},
                        "metadata": {},
                        "content": content,
                        "channel": channel,
                        "buffers": [],
                    }
                )
            )
        except Exception:
            return None
        return msg_id

    def execute(self, code: str, allow_stdin: bool = False) -> None:
        self.send(
            "shell",
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": allow_stdin,
                "stop_on_error": True,
            },
        )

    async def _read(self) -> None:
        truth = self.soak.truth[self.kernel_id]
        while True:
            raw = await self.ws.read_message() if self.ws is not None else None
            if raw is None:
                return
            msg = json.loads(raw)
            kind = msg["header"]["msg_type"]
            parent = msg.get("parent_header") or {}
            now = time.monotonic()
            if kind == "execute_reply":
                truth.replied[parent.get("msg_id", "")] = now
            elif kind == "status" and parent.get("msg_type") == "execute_request":
                truth.state, truth.state_at = msg["content"]["execution_state"], now
            elif kind == "input_request":
                # Answered late, as a person would.
                delay = self.soak.rng.uniform(1, 3)
                asyncio.get_running_loop().call_later(
                    delay, self.send, "stdin", "input_reply", {"value": "late"}, msg["header"]
                )


class Soak:
    def __init__(self, kernels: int, minutes: float, seed: int) -> None:
        self.target = kernels
        self.duration = minutes * 60
        self.rng = random.Random(seed)
        self.server = Server(True)
        self.http = AsyncHTTPClient(max_clients=50)
        self.clients: dict[str, list[SoakClient]] = {}
        self.truth: dict[str, Truth] = collections.defaultdict(Truth)
        self.gone: dict[str, float] = {}  # shut-down kernel id -> when
        self.counts: collections.Counter[str] = collections.Counter()
        self.mismatches: collections.Counter[str] = collections.Counter()
        self.examples: list[str] = []
        self.explained: set[str] = set()
        self.explanations: list[str] = []
        self.requests = self.errors_5xx = 0

    # -- HTTP ------------------------------------------------------------------------

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        self.requests += 1
        try:
            request = HTTPRequest(
                self.server.url + path,
                method=method,
                headers=self.server.auth,
                body=None if method in ("GET", "DELETE") else json.dumps(body or {}),
                request_timeout=120,
            )
            resp = await self.http.fetch(request, raise_error=False)
        except HTTPClientError as err:
            resp = err.response
        if resp is not None and resp.code >= 500:
            self.errors_5xx += 1
            self.example(f"{method} {path} -> {resp.code}")
        return json.loads(resp.body) if resp is not None and resp.body else None

    # -- the kernels -------------------------------------------------------------------

    async def start_kernel(self) -> None:
        kernel = await self.call("POST", "api/kernels", {"name": "python3"})
        kernel_id = kernel["id"]
        self.clients[kernel_id] = []
        for _ in range(2 if len(self.clients) % 5 == 0 else 1):
            client = SoakClient(self, kernel_id)
            await client.open()
            self.clients[kernel_id].append(client)
        self.counts["kernels started"] += 1

    async def shutdown_kernel(self, kernel_id: str) -> None:
        for client in self.clients.pop(kernel_id):
            client.close()
        await self.call("DELETE", f"api/kernels/{kernel_id}")
        self.gone[kernel_id] = time.monotonic()
        self.truth.pop(kernel_id, None)
        self.counts["kernels shut down"] += 1

    async def fault_or_work(self) -> None:
        kernel_id = self.rng.choice(list(self.clients))
        clients = self.clients[kernel_id]
        client = self.rng.choice(clients)
        truth = self.truth[kernel_id]
        roll = self.rng.random()
        if roll < 0.40:
            client.execute("x = 1")
            self.counts["quick cells"] += 1
        elif roll < 0.55:
            client.execute(f"import time; time.sleep({self.rng.uniform(0.5, 4):.2f})")
            self.counts["sleeps"] += 1
        elif roll < 0.65:
            client.execute("import time; time.sleep(0.3); raise ValueError('soak')")
            for _ in range(self.rng.randint(1, 3)):
                client.execute("y = 2")  # aborted behind the error
            self.counts["errors with aborted cells"] += 1
        elif roll < 0.72:
            client.execute("answer = input('? ')", allow_stdin=True)
            self.counts["input() answered late"] += 1
        elif roll < 0.78:
            truth.lifecycle_at = time.monotonic()
            truth.event("interrupt asked")
            await self.call("POST", f"api/active-sessions/{kernel_id}/interrupt")
            truth.lifecycle_at = time.monotonic()
            self.counts["interrupts"] += 1
        elif roll < 0.82:
            truth.lifecycle()
            truth.event("restart asked")
            await self.call("POST", f"api/active-sessions/{kernel_id}/restart")
            truth.lifecycle()
            truth.event("restart answered")
            self.counts["restarts"] += 1
        elif roll < 0.86:
            session = await self.call("GET", f"api/active-sessions/{kernel_id}")
            pid = (session or {}).get("process_id")
            if pid:
                truth.lifecycle()
                try:
                    os.kill(pid, signal.SIGKILL)
                    truth.event(f"kill -9 of pid {pid}")
                    self.counts["kill -9"] += 1
                except ProcessLookupError:
                    pass
        elif roll < 0.92:
            # Drop a websocket mid-execution, and come back a moment later.
            client.execute("import time; time.sleep(2)")
            await asyncio.sleep(0.2)
            client.close()
            clients.remove(client)
            truth.lifecycle(forget=not clients)
            truth.event(f"websocket {client.session[:6]} dropped mid-execution")
            fresh = SoakClient(self, kernel_id)
            await fresh.open()
            clients.append(fresh)
            truth.event(f"websocket {fresh.session[:6]} opened")
            self.counts["websockets dropped"] += 1
        else:
            await self.shutdown_kernel(kernel_id)
            await self.start_kernel()

    # -- the check ---------------------------------------------------------------------

    def example(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(f"[{time.monotonic() - self.began:6.1f} s] {text}")

    def mismatch(self, kind: str, kernel_id: str, detail: str) -> None:
        self.mismatches[kind] += 1
        self.example(f"{kind}: {kernel_id[:8]} {detail}")
        if kernel_id not in self.explained and len(self.explained) < 5:
            self.explained.add(kernel_id)
            self.explanations.append(self.lifecycle_of(kernel_id, kind))

    def lifecycle_of(self, kernel_id: str, kind: str, seconds: float = 20) -> str:
        """The kernel's lifecycle in the seconds before a mismatch: the soak's
        faults, the process changes the listing showed, and the server's log
        lines about restarts, re-watches and this kernel."""
        now = datetime.now()
        since = now.timestamp() - seconds
        lines = [f"{kind} on kernel {kernel_id}; its last {seconds:g} s:"]
        lines += [
            f"  {at:%H:%M:%S.%f}"[:-3] + f"  soak: {what}"
            for at, what in self.truth[kernel_id].events
            if at.timestamp() >= since
        ]
        for line in self.server.log.read_text(errors="replace").splitlines():
            stamp = line[3:26] if line.startswith("[") else ""
            try:
                at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f")
            except ValueError:
                continue
            if at.timestamp() >= since and (
                kernel_id in line or "Restarter" in line or "new ports" in line
            ):
                lines.append(f"  {at:%H:%M:%S.%f}"[:-3] + f"  server: {line[27:].strip()[:160]}")
        return "\n".join([lines[0], *sorted(lines[1:])])

    async def check(self) -> None:
        listing = await self.call("GET", "api/active-sessions")
        if listing is None:
            return
        now = time.monotonic()
        seen = {s["session_id"]: s for s in listing["sessions"]}
        for kernel_id, since in list(self.gone.items()):
            if kernel_id in seen and now - since > STABLE:
                self.mismatch("shut-down kernel still listed", kernel_id, "")
            elif kernel_id not in seen:
                del self.gone[kernel_id]
        self.counts["checks"] += 1
        for kernel_id, s in seen.items():
            if kernel_id not in self.clients:
                continue
            truth = self.truth[kernel_id]
            process = (s["process_id"], s["restart_count"], (s["last_exit"] or {}).get("reason"))
            if process != truth.seen_process:
                if truth.seen_process is not None:
                    truth.event(
                        f"listed: pid {process[0]}, restart_count {process[1]}, "
                        f"last_exit {process[2]}, status {s['status']}"
                    )
                truth.seen_process = process
            queue = s["execution_queue"]
            entries = [("pending", p) for p in queue["pending"]]
            if queue["active"]:
                entries.append(("active", queue["active"]))
            for where, entry in entries:
                replied = truth.replied.get(entry["msg_id"])
                if replied is not None and now - replied > GRACE:
                    self.mismatch(
                        f"{where} entry already answered",
                        kernel_id,
                        f"{entry['msg_id'][:8]} answered {now - replied:.1f} s ago",
                    )
            quiet = now - truth.lifecycle_at > STABLE and now - truth.state_at > GRACE
            # An active entry on a kernel the clients have seen idle for a while.
            if queue["active"] and truth.state == "idle" and quiet:
                truth.active_idle_since = truth.active_idle_since or now
                if now - truth.active_idle_since > STABLE:
                    self.mismatch(
                        "active entry on an idle kernel",
                        kernel_id,
                        f"{queue['active']['msg_id'][:8]}",
                    )
            else:
                truth.active_idle_since = None
            ours = {"busy": "busy", "idle": "idle", "ready": "idle"}.get(s["status"])
            if truth.state is not None and quiet and ours is not None and ours != truth.state:
                truth.disagree_since = truth.disagree_since or now
                if now - truth.disagree_since > STABLE:
                    self.mismatch(
                        "status differs",
                        kernel_id,
                        f"registry {s['status']}, clients saw {truth.state}",
                    )
                    truth.disagree_since = now  # count each stretch once
            else:
                truth.disagree_since = None

    # -- the run -----------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        self.began = time.monotonic()
        for _ in range(self.target):
            await self.start_kernel()
        await asyncio.sleep(5)  # let the start-ups settle before the first figure
        proc = psutil.Process(self.server.proc.pid)
        rss_start = proc.memory_info().rss
        end = self.began + self.duration
        next_check = time.monotonic()
        while time.monotonic() < end:
            if time.monotonic() >= next_check:
                await self.check()
                next_check += 1.0
            await self.fault_or_work()
            await asyncio.sleep(self.rng.uniform(0.05, 0.25))
        # Quiet down: the last sleeps and late inputs finish, then the last checks.
        for _ in range(15):
            await asyncio.sleep(1)
            await self.check()
        rss_end = proc.memory_info().rss
        for kernel_id in list(self.clients):
            await self.shutdown_kernel(kernel_id)
        server, kernels = tracebacks(self.server.log.read_text(errors="replace"))
        return {"rss": (rss_start, rss_end), "tracebacks": server, "kernel_tracebacks": kernels}

    def stop(self) -> None:
        for clients in self.clients.values():
            for client in clients:
                client.close()
        self.server.stop()


async def one_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    soak = Soak(args.kernels, args.minutes, seed)
    try:
        result = await soak.run()
    finally:
        soak.stop()
    for line in soak.examples:
        print(f"seed {seed}: {line}")
    for explanation in soak.explanations:
        print(explanation)
    start, end = result["rss"]
    return {
        "seed": seed,
        "done": ", ".join(f"{n} {what}" for what, n in sorted(soak.counts.items())),
        "mismatches": sum(soak.mismatches.values()),
        "kinds": dict(soak.mismatches),
        "requests": soak.requests,
        "5xx": soak.errors_5xx,
        "tracebacks": result["tracebacks"],
        "kernel_tracebacks": result["kernel_tracebacks"],
        "rss": (start, end),
    }


def table(args: argparse.Namespace, runs: list[dict[str, Any]]) -> str:
    """One column per seed."""

    def mib(x: float) -> str:
        return f"{x / 2**20:.1f}"

    kinds = sorted({k for r in runs for k in r["kinds"]})
    seeds = " ".join(str(r["seed"]) for r in runs)
    rows = [
        (
            "mismatches between the registry and its clients' ground truth",
            [str(r["mismatches"]) for r in runs],
            "0",
        ),
        *[(f"- {kind}", [str(r["kinds"].get(kind, 0)) for r in runs], "0") for kind in kinds],
        ("answers 5xx", [f"{r['5xx']} of {r['requests']}" for r in runs], "0"),
        ("tracebacks of the server in its log", [str(r["tracebacks"]) for r in runs], "0"),
        (
            "tracebacks of kernel processes killed or restarted mid-reply (same log)",
            [str(r["kernel_tracebacks"]) for r in runs],
            "",
        ),
        (
            "server RSS, start -> end",
            [
                f"{mib(r['rss'][0])} -> {mib(r['rss'][1])} MiB ({(r['rss'][1] - r['rss'][0]) / 2**20:+.1f})"
                for r in runs
            ],
            "growth < 30 MiB",
        ),
    ]
    lines = [
        "## Soak with faults\n",
        f"`benchmarks/soak.py --kernels {args.kernels} --minutes {args.minutes:g} --seed {seeds}`,"
        f" {datetime.now().date().isoformat()} on {machine()}.\n",
        "| figure | " + " | ".join(f"seed {r['seed']}" for r in runs) + " | target |",
        "|---|" + "---|" * len(runs) + "---|",
        *[f"| {name} | " + " | ".join(values) + f" | {target} |" for name, values, target in rows],
        "",
        *[f"What ran with seed {r['seed']}: {r['done']}." for r in runs],
    ]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    runs = [await one_seed(args, seed) for seed in args.seed]
    text = table(args, runs)
    print(text)
    if not args.no_write:
        update_results("soak", text)
    ok = all(
        r["mismatches"] == 0
        and r["5xx"] == 0
        and r["tracebacks"] == 0
        and r["rss"][1] - r["rss"][0] < 30 * 2**20
        for r in runs
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="jupyter_session_ext soak with faults")
    parser.add_argument("--kernels", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[1], help="one run per seed, one after another"
    )
    parser.add_argument("--no-write", action="store_true", help="print only, RESULTS.md untouched")
    sys.exit(asyncio.run(main(parser.parse_args())))
