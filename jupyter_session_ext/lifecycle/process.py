"""What the kernel manager and the operating system know about a kernel
process: its pid, command line, owner, start time, launch environment,
current directory, kernelspec and socket, and how it ended.

Read through psutil from the process jupyter_client's provisioner launched.
Remote kernels (gateway) have no local process: every reader returns None and
the registry falls back to what the server knows.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import psutil

from ..server_hooks import launch_args, launched_process
from ..state.process_end import ExitStatus
from ..state.record import ProcessSnapshot, SpecFacts
from .redaction import redact_argv, redact_env
from .voila import dashboard_notebook


def is_remote(km: Any) -> bool:
    """A kernel run elsewhere (a Kernel/Enterprise Gateway): no provisioner,
    no process here."""
    return getattr(km, "provisioner", None) is None and launched_process(km) is None


def kernel_pid(km: Any) -> int | None:
    process = launched_process(km)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


def is_running(km: Any) -> bool | None:
    """True/False for a local kernel process, None when there is none to ask.

    Uses Popen.poll() (as jupyter_client's own restarter does) so a dead
    kernel is reaped, not left as a zombie that psutil would call alive.
    """
    process = launched_process(km)
    if process is None:
        return None
    try:
        return process.poll() is None
    except Exception:  # a broken handle means the process is not ours to ask
        return False


def env_beyond(env: Mapping[str, str], server_env: Mapping[str, str]) -> dict[str, str]:
    """Variables that were set for the kernel: absent from, or different in,
    the server's own environment."""
    return {k: v for k, v in env.items() if server_env.get(k) != v}


def _launch_env(km: Any) -> dict[str, str]:
    env = launch_args(km).get("env")
    return dict(env) if isinstance(env, dict) else {}


def launch_argv(km: Any) -> list[str]:
    if is_remote(km):
        return []  # the gateway's command line is not ours to know
    process = launched_process(km)
    args = getattr(process, "args", None)
    if isinstance(args, (list, tuple)) and args:
        return [str(a) for a in args]
    try:
        return [str(a) for a in km.format_kernel_cmd()]
    except Exception:  # remote kernels have no command line we can know
        return []


def _launch_cwd(km: Any) -> str:
    process = launched_process(km)
    cwd = getattr(process, "cwd", None) or launch_args(km).get("cwd")
    return str(cwd) if cwd else os.getcwd()


def _start_time(proc: psutil.Process) -> datetime:
    """When the process started, to the clock tick.

    psutil derives it from the boot time, which Linux gives in whole seconds
    (up to a second off). On Linux, take the start in ticks since boot and the
    same clock (CLOCK_BOOTTIME) now instead.
    """
    try:
        with open(f"/proc/{proc.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot
        return datetime.fromtimestamp(time.time() - age, tz=timezone.utc)
    except (OSError, ValueError, IndexError, AttributeError):
        return datetime.fromtimestamp(proc.create_time(), tz=timezone.utc)


def snapshot(
    km: Any,
    *,
    server_env: Mapping[str, str],
    secret_names: re.Pattern[str] | None,
    include_env: bool = True,
) -> ProcessSnapshot:
    """Describe the process `km` launched, as the OS sees it right now."""
    pid = kernel_pid(km)
    argv = launch_argv(km)
    username: str | None = None
    started: datetime | None = None
    env: dict[str, str] | None = None
    if pid is not None:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                username = proc.username()
                started = _start_time(proc)
                # /proc/<pid>/environ is the block the process was started
                # with: exactly "the environment set at launch". Read even
                # when not shown: it says which dashboard a kernel serves.
                env = proc.environ()
        except (psutil.Error, OSError):
            pass
    if env is None and not is_remote(km):
        env = _launch_env(km)
    initial_env = (
        redact_env(env_beyond(env, server_env), secret_names)
        if include_env and env is not None
        else None
    )
    return ProcessSnapshot(
        pid=pid,
        argv=redact_argv(argv, secret_names),
        username=username or getpass.getuser(),
        started=started or datetime.now(timezone.utc),
        launch_cwd=_launch_cwd(km),
        initial_env=initial_env,
        socket_path=socket_path(km),
        dashboard=dashboard_notebook(env),
    )


def socket_path(km: Any) -> str | None:
    """The Unix socket prefix of an ipc-transport kernel (`<prefix>-<port>`)."""
    if getattr(km, "transport", "tcp") != "ipc":
        return None
    ip = getattr(km, "ip", None)
    return os.path.abspath(ip) if ip else None


def spec_facts(km: Any) -> SpecFacts:
    """The kernelspec's facts, as jupyter_client read them for this launch."""
    try:
        spec = km.kernel_spec
    except Exception:  # a spec removed after launch is not our failure
        spec = None
    kernel_name = str(getattr(km, "kernel_name", "") or "")
    return SpecFacts(
        kernel_name=kernel_name,
        language=str(getattr(spec, "language", "") or ""),
        display_name=str(getattr(spec, "display_name", "") or kernel_name),
        interrupt_mode="message"
        if getattr(spec, "interrupt_mode", None) == "message"
        else "signal",
        cull_idle_timeout=(getattr(spec, "metadata", None) or {}).get("cull_idle_timeout"),
    )


_PROC_CWD = "/proc/%d/cwd"
_HAS_PROC = os.path.isdir("/proc/self")


def current_cwd(pid: int | None) -> str | None:
    """The process's current working directory, or None if unreadable.

    Read after executions, so on Linux it is one readlink of /proc (making a
    psutil.Process costs several times that); psutil elsewhere."""
    if pid is None:
        return None
    try:
        if _HAS_PROC:
            path = os.readlink(_PROC_CWD % pid)
            # The kernel's directory was removed: the kernel still "is" there.
            deleted = " (deleted)"
            return path[: -len(deleted)] if path.endswith(deleted) else path
        return psutil.Process(pid).cwd()
    except (psutil.Error, OSError):
        return None


def exit_status(process: Any) -> ExitStatus:
    """(exit_code, signal) of a kernel's Popen once it ended; None while it
    runs or when it cannot be asked. A negative return code is a signal."""
    try:
        code = process.poll()
    except Exception:
        return None
    if not isinstance(code, int):
        return None
    return (None, -code) if code < 0 else (code, None)


def kill_tree(pid: int) -> int:
    """SIGKILL a kernel process and every process it started (children first,
    so none is re-parented and missed). Returns how many were signalled."""
    try:
        root = psutil.Process(pid)
        victims = root.children(recursive=True) + [root]
    except psutil.Error:
        return 0
    killed = 0
    for proc in victims:
        try:
            proc.kill()
            killed += 1
        except psutil.Error:
            pass  # gone already
    return killed
