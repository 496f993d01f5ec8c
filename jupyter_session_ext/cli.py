"""`jupyter active-sessions`: the sessions of a running server, from a terminal.

    jupyter active-sessions list [--json]
    jupyter active-sessions show ID [--json]
    jupyter active-sessions interrupt|restart|shutdown|kill ID
    jupyter active-sessions history ID [--json]
    jupyter active-sessions ended [--lines=N] [--json]
    jupyter active-sessions memory [ID] [--top=N] [--json]

Finds running servers the way `jupyter server list` does (their files in the
Jupyter runtime directory), or talks to `--url` with `--token`. IDs may be
abbreviated to any unique prefix.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

from jupyter_core.application import JupyterApp
from jupyter_server.serverapp import list_running_servers
from traitlets import Bool, Float, Integer, Unicode

from ._version import __version__
from .cli_tables import (
    ended_row,
    history_row,
    last_words,
    memory_row,
    session_row,
    table,
    used_of,
)
from .registry import CONFIGURABLE_CLASSES
from .untrusted import printable


class CLIError(Exception):
    """A problem to report in one line, with exit status 1."""


class ActiveSessionsClientApp(JupyterApp):
    """What every subcommand shares: finding the server and calling it."""

    url = Unicode(
        "", help="Base URL of the Jupyter server (default: the first running server found)."
    ).tag(config=True)
    token = Unicode(
        "", help="Token for --url (default: $JUPYTER_TOKEN, or the found server's own)."
    ).tag(config=True)
    json_output = Bool(False, help="Print JSON instead of a table.").tag(config=True)
    timeout = Float(60.0, help="Seconds to wait for the server's answer.").tag(config=True)

    aliases = {"url": "ActiveSessionsClientApp.url", "token": "ActiveSessionsClientApp.token"}
    flags = {
        "json": ({"ActiveSessionsClientApp": {"json_output": True}}, "Print JSON."),
    }

    def server(self) -> tuple[str, str]:
        if self.url:
            return self.url.rstrip("/") + "/", self.token or os.environ.get("JUPYTER_TOKEN", "")
        servers = list(list_running_servers(self.runtime_dir))
        if not servers:
            raise CLIError(
                f"No running Jupyter server found (looked in {self.runtime_dir}). "
                "Start one, or pass --url and --token."
            )
        found = servers[0]
        return found["url"], self.token or found.get("token", "")

    def call(self, method: str, path: str = "") -> Any:
        base, token = self.server()
        url = base + "api/active-sessions" + (f"/{path}" if path else "")
        request = urllib.request.Request(
            url,
            method=method,
            data=b"" if method == "POST" else None,
            headers={"Authorization": f"token {token}"} if token else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as err:
            message = _message(err)
            if err.code in (401, 403):
                raise CLIError(
                    f"The server at {base} refused the request ({err.code}): check --token."
                ) from None
            if err.code == 404 and not path:
                raise CLIError(
                    f"The server at {base} does not have the active sessions extension."
                ) from None
            raise CLIError(message or f"HTTP {err.code} from {url}") from None
        except urllib.error.URLError as err:
            raise CLIError(f"Cannot reach {base}: {err.reason}") from None
        return json.loads(body) if body else None

    def resolve(self, prefix: str) -> str:
        """A full session id from a unique prefix."""
        ids = [s["session_id"] for s in self.call("GET")["sessions"]]
        matches = [i for i in ids if i.startswith(prefix)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CLIError(f"No active session with id {prefix!r}.")
        raise CLIError(f"{prefix!r} matches {len(matches)} sessions: give more of the id.")

    def session_id(self) -> str:
        if len(self.extra_args) != 1:
            raise CLIError(f"Usage: jupyter active-sessions {self.name.split('-')[-1]} ID")
        return self.resolve(self.extra_args[0])

    def emit(self, data: Any) -> None:
        print(json.dumps(data, indent=2))

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        try:
            self.run()
        except CLIError as err:
            print(f"jupyter active-sessions: {printable(err, 2000)}", file=sys.stderr)
            self.exit(1)


def _message(err: urllib.error.HTTPError) -> str:
    try:
        return json.loads(err.read()).get("message", "")
    except (ValueError, AttributeError):
        return ""


class ListApp(ActiveSessionsClientApp):
    name = "jupyter-active-sessions-list"
    description = "List every kernel of the server: status, time, queue, notebook, pid."

    def run(self) -> None:
        data = self.call("GET")
        if self.json_output:
            self.emit(data)
            return
        if not data["sessions"]:
            print("No running kernels.")
            return
        headers = ["ID", "NAME", "STATUS", "FOR", "QUEUED", "NOTEBOOK", "PID"]
        print(table([session_row(s) for s in data["sessions"]], headers))


class ShowApp(ActiveSessionsClientApp):
    name = "jupyter-active-sessions-show"
    description = "Show every field of one session."

    def run(self) -> None:
        s = self.call("GET", self.session_id())
        if self.json_output:
            self.emit(s)
            return
        width = max(len(k) for k in s)
        for key, value in s.items():
            text = value if isinstance(value, str) else json.dumps(value)
            print(f"{key.ljust(width)}  {printable(text, 100_000)}")


class _ActionApp(ActiveSessionsClientApp):
    action = ""
    done = ""

    def run(self) -> None:
        session_id = self.session_id()
        if self.action == "shutdown":
            self.call("DELETE", session_id)
            result: Any = {"session_id": session_id, "shut_down": True}
        elif self.action == "kill":
            self.call("POST", f"{session_id}/kill")
            result = {"session_id": session_id, "killed": True}
        else:
            result = self.call("POST", f"{session_id}/{self.action}")
        if self.json_output:
            self.emit(result)
        else:
            print(f"{self.done} {session_id}.")


class HistoryApp(ActiveSessionsClientApp):
    name = "jupyter-active-sessions-history"
    description = "What a kernel ran: its last finished executions, newest first."

    def run(self) -> None:
        data = self.call("GET", f"{self.session_id()}/history")
        if self.json_output:
            self.emit(data)
            return
        if not data["executions"]:
            print("No finished executions.")
            return
        headers = ["#", "STATUS", "TOOK", "MEMORY", "ENDED", "CELL", "CODE"]
        print(table([history_row(e) for e in data["executions"]], headers))
        if data["total"] > len(data["executions"]):
            print(f"({data['total']} executions in all; the older ones are not kept)")


class EndedApp(ActiveSessionsClientApp):
    name = "jupyter-active-sessions-ended"
    description = (
        "Kernels that are gone, newest first, and why; then what the process "
        "of each wrote last (its last words), where it faulted."
    )
    lines = Integer(10, help="Lines of each kernel's last words to print (0: none).").tag(
        config=True
    )
    aliases = {**ActiveSessionsClientApp.aliases, "lines": "EndedApp.lines"}

    def run(self) -> None:
        data = self.call("GET", "ended")
        if self.json_output:
            self.emit(data)
            return
        if not data["sessions"]:
            print("No ended kernels.")
            return
        headers = ["ID", "NAME", "REASON", "BY", "ENDED", "IDLE", "NOTEBOOK"]
        print(table([ended_row(r) for r in data["sessions"]], headers))
        for record in data["sessions"]:
            said = last_words(record, self.lines)
            if said:
                print()
                print("\n".join(said))


class MemoryApp(ActiveSessionsClientApp):
    name = "jupyter-active-sessions-memory"
    description = (
        "The server's memory against its limit, and the executions that grew "
        "memory most (of every kernel, or of one)."
    )
    top = Integer(10, help="How many executions to list.").tag(config=True)
    aliases = {**ActiveSessionsClientApp.aliases, "top": "MemoryApp.top"}

    def run(self) -> None:
        status = self.call("GET", "status")
        ids = (
            [self.session_id()]
            if self.extra_args
            else [s["session_id"] for s in self.call("GET")["sessions"]]
        )
        grown = []
        for session_id in ids:
            try:
                history = self.call("GET", f"{session_id}/history")
            except CLIError:
                continue  # gone meanwhile
            for e in history["executions"]:
                if (
                    e.get("memory_start_bytes") is not None
                    and e.get("memory_end_bytes") is not None
                ):
                    grown.append({"session_id": session_id, **e})
        grown.sort(key=lambda e: e["memory_end_bytes"] - e["memory_start_bytes"], reverse=True)
        grown = grown[: max(0, self.top)]
        if self.json_output:
            self.emit({"memory": status.get("memory"), "executions": grown})
            return
        memory = status.get("memory") or {}
        print(f"Memory: {used_of(memory)}")
        if not grown:
            print("No execution with memory figures yet.")
            return
        headers = ["KERNEL", "#", "GREW", "PEAK", "TOOK", "ENDED", "CODE"]
        print(table([memory_row(e) for e in grown], headers))


class InterruptApp(_ActionApp):
    name = "jupyter-active-sessions-interrupt"
    description = "Interrupt a kernel."
    action, done = "interrupt", "Interrupted"


class RestartApp(_ActionApp):
    name = "jupyter-active-sessions-restart"
    description = "Restart a kernel (waits until it answers again)."
    action, done = "restart", "Restarted"


class ShutdownApp(_ActionApp):
    name = "jupyter-active-sessions-shutdown"
    description = "Shut a kernel down, with the notebooks and consoles bound to it."
    action, done = "shutdown", "Shut down"


class KillApp(_ActionApp):
    name = "jupyter-active-sessions-kill"
    description = (
        "Kill a kernel at once, with every process it started (for a kernel "
        "that ignores interrupt and shutdown)."
    )
    action, done = "kill", "Killed"


class ActiveSessionsCLI(JupyterApp):
    name = "jupyter-active-sessions"
    version = __version__
    description = __doc__
    # `--help-all` also documents the server extension's options (set those in
    # jupyter_server_config.py): `jupyter server --help-all` cannot list them.
    classes = CONFIGURABLE_CLASSES
    subcommands = {
        "list": (ListApp, ListApp.description),
        "show": (ShowApp, ShowApp.description),
        "interrupt": (InterruptApp, InterruptApp.description),
        "restart": (RestartApp, RestartApp.description),
        "shutdown": (ShutdownApp, ShutdownApp.description),
        "kill": (KillApp, KillApp.description),
        "history": (HistoryApp, HistoryApp.description),
        "ended": (EndedApp, EndedApp.description),
        "memory": (MemoryApp, MemoryApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            # `jupyter active-sessions` alone: the list, as `docker ps` would.
            self.subapp = ListApp.instance(parent=self)
            self.subapp.initialize(self.extra_args)
        self.subapp.start()


main = launch_new_instance = ActiveSessionsCLI.launch_instance

if __name__ == "__main__":
    main()
