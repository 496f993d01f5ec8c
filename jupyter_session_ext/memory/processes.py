"""Process trees and what they use: a kernel is its process and every process
it started (a `!pip install`, a multiprocessing pool, a Spark driver).

A tree is found from the kernel down, never by scanning the host: on Linux
each thread's `/proc/<pid>/task/<tid>/children` lists the processes it
forked, so the cost follows the kernels' own processes, not the number of
processes on the machine (a JupyterHub host runs every user's). Where that
file is missing (other systems, kernels built without CONFIG_PROC_CHILDREN)
one scan of the process table per sample stands in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import psutil

_HAS_CHILDREN = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children_linux(pid: int) -> list[int]:
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found  # the process is gone
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(child) for child in f.read().split())
        except (OSError, ValueError):
            continue  # a thread that ended meanwhile
    return found


def _scan() -> dict[int, list[int]]:
    """Child pids per parent pid, from one pass over the process table."""
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info["ppid"]
        if ppid is not None:
            children.setdefault(ppid, []).append(proc.pid)
    return children


def families(roots: Iterable[int], use_procfs: bool = _HAS_CHILDREN) -> dict[int, list[int]]:
    """Each root pid with its descendants (the root first)."""
    scanned: dict[int, list[int]] | None = None if use_procfs else _scan()
    result: dict[int, list[int]] = {}
    for root in roots:
        family: dict[int, None] = {}
        stack = [root]
        while stack:
            member = stack.pop()
            if member in family:
                continue
            family[member] = None
            stack.extend(_children_linux(member) if scanned is None else scanned.get(member, ()))
        result[root] = list(family)
    return result


def rss(pids: Iterable[int]) -> int | None:
    """The resident memory of these processes together, read now (on Linux
    one small read of /proc per process); None if none could be read."""
    total, read = 0, False
    for pid in pids:
        try:
            if _HAS_CHILDREN:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * _PAGE
            else:
                total += psutil.Process(pid).memory_info().rss
            read = True
        except (OSError, ValueError, IndexError, psutil.Error):
            continue
    return total if read else None


class ResidentMemory:
    """`rss`, through /proc/<pid>/statm files kept open: reading an open one
    again costs a tenth of opening it (2.5 us against 22 us here), and every
    execution's start and end are such a read, on the event loop. A process
    that ends makes its file unreadable (a new process given the same pid
    has a file of its own), and it is closed then. Used from one thread
    only: a file closed there while another thread read its descriptor
    number could read a file opened since under that number."""

    def __init__(self) -> None:
        self._open: dict[int, int] = {}  # pid -> descriptor of its statm

    def rss(self, pids: Iterable[int]) -> int | None:
        if not _HAS_CHILDREN:
            return rss(pids)
        total, read = 0, False
        for pid in pids:
            try:
                fd = self._open.get(pid)
                if fd is None:
                    fd = self._open[pid] = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
                total += int(os.pread(fd, 128, 0).split()[1]) * _PAGE
                read = True
            except (OSError, ValueError, IndexError):
                self._close(pid)
        return total if read else None

    def keep(self, pids: Iterable[int]) -> None:
        """Close the files of every process but these."""
        kept = set(pids)
        for pid in [p for p in self._open if p not in kept]:
            self._close(pid)

    def _close(self, pid: int) -> None:
        fd = self._open.pop(pid, None)
        if fd is not None:
            os.close(fd)


class ResourceSampler:
    """CPU, memory and threads of kernel processes and their children.

    Keeps the psutil.Process objects between samples: cpu_percent is measured
    over the time since the previous sample of the same process. Called from a
    worker thread, one sample at a time; `family` may be read from any thread
    (each family is replaced whole).
    """

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}
        self._families: dict[int, tuple[int, ...]] = {}

    def _process(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None or not proc.is_running():  # is_running also catches pid reuse
            proc = psutil.Process(pid)
            proc.cpu_percent(None)  # the first call only sets the baseline
            self._procs[pid] = proc
        return proc

    def family(self, pid: int) -> tuple[int, ...]:
        """The kernel and the descendants it had at its last sample."""
        return self._families.get(pid, (pid,))

    def sample(self, pids: list[int], forget: bool = True) -> dict[int, dict[str, Any]]:
        """Figures of each kernel pid's tree. `forget`: this sample covers
        every kernel, so processes outside all of them are let go."""
        seen: set[int] = set()
        result: dict[int, dict[str, Any]] = {}
        for pid, family in families(pids).items():
            try:
                self._process(pid)
            except (psutil.Error, OSError):
                self._families.pop(pid, None)
                continue  # the kernel itself is gone or unreadable: no figures
            cpu = 0.0
            memory = threads = 0
            members = []
            for member in family:
                try:
                    proc = self._process(member)
                    with proc.oneshot():
                        cpu += proc.cpu_percent(None)
                        memory += proc.memory_info().rss
                        threads += proc.num_threads()
                    members.append(member)
                except (psutil.Error, OSError):
                    continue  # a child that ended meanwhile
            seen.update(members)
            self._families[pid] = tuple(members)
            result[pid] = {
                "cpu_percent": round(cpu, 1),
                "memory_bytes": memory,
                "thread_count": threads,
            }
        if forget:
            for pid in list(self._procs):
                if pid not in seen:
                    del self._procs[pid]
            for pid in list(self._families):
                if pid not in result:
                    del self._families[pid]
        return result
