"""The memory cgroup the server runs in, read from cgroupfs: its limit, what
is charged to it, and how many processes the OOM killer ended inside it.

Both versions: v2 (`memory.max`, `memory.current`, `memory.events`) and v1
(`memory.limit_in_bytes`, `memory.usage_in_bytes`, `memory.oom_control`).
Which cgroup is the server's comes from `/proc/self/cgroup`; where its
hierarchy is mounted, from `/proc/self/mountinfo`. Every read tolerates a
missing or garbled file (None), since cgroupfs differs between kernels,
containers and namespaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# v1 reads PAGE_COUNTER_MAX pages (about 2**63 bytes) when no limit is set.
UNLIMITED = 2**60


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _field(text: str | None, name: str) -> int | None:
    """The value of `name` in a flat-keyed file (`memory.stat`, `memory.events`,
    `memory.oom_control`: one `name value` per line)."""
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return _int(value)
    return None


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path
    version: int  # 1 or 2

    def _file(self, v2: str, v1: str) -> Path:
        return self.path / (v2 if self.version == 2 else v1)

    def limit_bytes(self) -> int | None:
        """The hard limit, or None where there is none (`max`, or v1's huge value)."""
        text = _read(self._file("memory.max", "memory.limit_in_bytes"))
        if text is None or text.strip() == "max":
            return None
        value = _int(text)
        return value if value is not None and 0 < value < UNLIMITED else None

    def usage_bytes(self) -> int | None:
        """What is charged to the cgroup, less the page cache it can drop at
        once (`inactive_file`): the working set, as the kubelet and `docker
        stats` count it. The raw usage counts cache the OOM killer never needs."""
        usage = _int(_read(self._file("memory.current", "memory.usage_in_bytes")))
        if usage is None:
            return None
        stat = _read(self.path / "memory.stat")
        inactive = _field(stat, "inactive_file" if self.version == 2 else "total_inactive_file")
        return max(0, usage - (inactive or 0))

    def oom_kills(self) -> int | None:
        """Processes the OOM killer ended in this cgroup and below, since it was made."""
        return _field(_read(self._file("memory.events", "memory.oom_control")), "oom_kill")


def _unescape(field: str) -> str:
    """The kernel writes a space in a path as \\040 (and tab, newline, backslash alike)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts(mountinfo: str) -> tuple[tuple[str, Path] | None, tuple[str, Path] | None]:
    """((root, mount point) of the v2 hierarchy, (…) of v1's memory one)."""
    v2 = v1 = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 1:
            continue
        root, point = (_unescape(f) for f in fields[3:5])
        if tail[0] == "cgroup2" and v2 is None:
            v2 = (root, Path(point))
        elif tail[0] == "cgroup" and len(tail) > 2 and "memory" in tail[2].split(","):
            v1 = v1 or (root, Path(point))
    return v2, v1


def _place(cgroup_path: str, mount: tuple[str, Path]) -> list[Path]:
    """The cgroup's directory and its ancestors up to the mount, nearest first."""
    root, point = mount
    relative = cgroup_path
    if root != "/" and (relative == root or relative.startswith(root.rstrip("/") + "/")):
        relative = relative[len(root.rstrip("/")) :]
    here = point / relative.lstrip("/")
    if not here.is_dir():
        # A cgroup namespace the path does not see through (a container
        # without its own cgroupns): the mount is the container's cgroup.
        here = point
    chain = [here]
    while chain[-1] != point and point in chain[-1].parents:
        chain.append(chain[-1].parent)
    return chain


def server_cgroups(proc_self: Path = Path("/proc/self")) -> list[MemoryCgroup]:
    """The memory cgroups this process is in, its own first and then each
    ancestor (a limit may be set on any of them): v1's memory controller
    where it is mounted, else v2 where its memory controller is enabled;
    [] where there is neither (not Linux, or no cgroupfs)."""
    table, mountinfo = _read(proc_self / "cgroup"), _read(proc_self / "mountinfo")
    if table is None or mountinfo is None:
        return []
    v2_mount, v1_mount = _mounts(mountinfo)
    v1_path = v2_path = None
    for line in table.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        ident, controllers, path = parts
        if ident == "0" and controllers == "":
            v2_path = path
        elif "memory" in controllers.split(","):
            v1_path = path
    if v1_path is not None and v1_mount is not None:
        return [MemoryCgroup(p, 1) for p in _place(v1_path, v1_mount)]
    if v2_path is not None and v2_mount is not None:
        # Only cgroups whose parent enabled the memory controller have memory.* files.
        chain = [MemoryCgroup(p, 2) for p in _place(v2_path, v2_mount)]
        return [c for c in chain if (c.path / "memory.current").exists()]
    return []


def binding(chain: list[MemoryCgroup]) -> tuple[MemoryCgroup, int] | None:
    """The cgroup whose limit the server meets first (the smallest of the
    chain; the nearest of equal ones), with that limit; None if none is set."""
    best: tuple[MemoryCgroup, int] | None = None
    for cgroup in chain:
        limit = cgroup.limit_bytes()
        if limit is not None and (best is None or limit < best[1]):
            best = (cgroup, limit)
    return best
