"""The memory cgroup reader against directories laid out as cgroupfs, with
the files' real formats: v2 (this machine mounts no v2 memory controller)
and v1 (the test with a real cgroup is test_memory_limit.py)."""

from __future__ import annotations

from pathlib import Path

from jupyter_session_ext.memory import cgroup
from jupyter_session_ext.memory.cgroup import MemoryCgroup

GiB = 1024**3

# As a 6.x kernel writes them.
V2_EVENTS = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n"
V2_STAT = (
    "anon 524288000\nfile 209715200\nkernel 8388608\nkernel_stack 327680\n"
    "active_anon 520000000\ninactive_anon 4288000\nactive_file 104857600\n"
    "inactive_file 104857600\nunevictable 0\n"
)
V1_OOM_CONTROL = "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n"
V1_STAT = "cache 104857600\nrss 524288000\ninactive_file 1024\ntotal_inactive_file 52428800\n"


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def proc_self(tmp_path: Path, table: str, mountinfo: str) -> Path:
    return write(tmp_path / "proc" / "self", {"cgroup": table, "mountinfo": mountinfo})


def test_v2_limit_usage_and_oom_kills(tmp_path):
    group = MemoryCgroup(
        write(
            tmp_path / "user.slice",
            {
                "memory.max": f"{2 * GiB}\n",
                "memory.current": "734003200\n",
                "memory.stat": V2_STAT,
                "memory.events": V2_EVENTS,
            },
        ),
        2,
    )
    assert group.limit_bytes() == 2 * GiB
    assert group.usage_bytes() == 734003200 - 104857600  # less inactive_file
    assert group.oom_kills() == 2  # oom_kill, not oom or oom_group_kill


def test_v2_max_means_no_limit_and_missing_files_mean_unknown(tmp_path):
    group = MemoryCgroup(write(tmp_path / "g", {"memory.max": "max\n"}), 2)
    assert group.limit_bytes() is None
    assert group.usage_bytes() is None
    assert group.oom_kills() is None
    garbled = MemoryCgroup(write(tmp_path / "h", {"memory.max": "lots\n"}), 2)
    assert garbled.limit_bytes() is None


def test_v1_limit_usage_and_oom_kills(tmp_path):
    group = MemoryCgroup(
        write(
            tmp_path / "jse",
            {
                "memory.limit_in_bytes": f"{GiB}\n",
                "memory.usage_in_bytes": "629145600\n",
                "memory.stat": V1_STAT,
                "memory.oom_control": V1_OOM_CONTROL,
            },
        ),
        1,
    )
    assert group.limit_bytes() == GiB
    assert group.usage_bytes() == 629145600 - 52428800  # less total_inactive_file
    assert group.oom_kills() == 4
    # v1 without a limit reads PAGE_COUNTER_MAX pages.
    (group.path / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert group.limit_bytes() is None


def test_v2_found_from_proc_self_with_the_smallest_limit_of_its_ancestors(tmp_path):
    mount = tmp_path / "sys" / "fs" / "cgroup"
    files = {"memory.current": "1\n", "memory.stat": V2_STAT, "memory.events": V2_EVENTS}
    write(mount, {"cgroup.controllers": "cpu memory\n"})  # the root has no memory.* files
    write(mount / "user.slice", {**files, "memory.max": f"{4 * GiB}\n"})
    write(mount / "user.slice" / "user-1000.slice", {**files, "memory.max": f"{2 * GiB}\n"})
    own = write(
        mount / "user.slice" / "user-1000.slice" / "jupyter.scope", {**files, "memory.max": "max\n"}
    )
    proc = proc_self(
        tmp_path,
        "0::/user.slice/user-1000.slice/jupyter.scope\n",
        f"24 1 0:21 / /proc rw - proc proc rw\n"
        f"35 24 0:30 / {mount} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw\n",
    )
    chain = cgroup.server_cgroups(proc)
    assert [c.path for c in chain] == [own, own.parent, own.parent.parent]
    assert all(c.version == 2 for c in chain)
    bound = cgroup.binding(chain)
    assert bound is not None and bound[1] == 2 * GiB and bound[0].path == own.parent


def test_v2_in_a_container_namespace_reads_the_mount_itself(tmp_path):
    """A container without its own cgroup namespace: /proc/self/cgroup names
    the host's path, the container sees its own cgroup at the mount."""
    mount = write(
        tmp_path / "cg",
        {"memory.max": f"{GiB}\n", "memory.current": "5\n", "memory.events": V2_EVENTS},
    )
    proc = proc_self(
        tmp_path,
        "0::/kubepods/burstable/pod1234/abcdef\n",
        f"600 500 0:40 / {mount} ro,nosuid - cgroup2 cgroup rw\n",
    )
    chain = cgroup.server_cgroups(proc)
    assert [c.path for c in chain] == [mount]
    assert cgroup.binding(chain) == (chain[0], GiB)


def test_v1_memory_hierarchy_is_preferred_and_the_mount_root_is_stripped(tmp_path):
    """A hybrid host (v1 memory, an empty v2 hierarchy) with the v1 hierarchy
    mounted from a sub-cgroup, as Docker does: root /docker/abc."""
    mount = tmp_path / "memory"
    own = write(
        mount / "jupyter",
        {
            "memory.limit_in_bytes": f"{GiB}\n",
            "memory.usage_in_bytes": "7\n",
            "memory.stat": V1_STAT,
        },
    )
    write(mount, {"memory.limit_in_bytes": "9223372036854771712\n"})
    proc = proc_self(
        tmp_path,
        "12:pids:/docker/abc\n4:cpu,memory:/docker/abc/jupyter\n0::/\n",
        f"31 23 0:28 / {tmp_path}/unified rw - cgroup2 cgroup2 rw\n"
        f"35 31 0:32 /docker/abc {mount} rw,relatime - cgroup cgroup rw,cpu,memory\n",
    )
    chain = cgroup.server_cgroups(proc)
    assert [c.path for c in chain] == [own, mount]
    assert chain[0].version == 1
    assert cgroup.binding(chain) == (chain[0], GiB)


def test_paths_with_spaces_are_unescaped(tmp_path):
    mount = write(tmp_path / "with space", {"memory.limit_in_bytes": f"{GiB}\n"})
    escaped = str(mount).replace(" ", "\\040")
    proc = proc_self(
        tmp_path, "4:memory:/\n", f"35 31 0:32 / {escaped} rw - cgroup cgroup rw,memory\n"
    )
    assert [c.path for c in cgroup.server_cgroups(proc)] == [mount]


def test_no_cgroupfs_means_no_cgroup(tmp_path):
    assert cgroup.server_cgroups(tmp_path / "nothing") == []
    proc = proc_self(tmp_path, "0::/\n", "24 1 0:21 / /proc rw - proc proc rw\n")
    assert cgroup.server_cgroups(proc) == []
    assert cgroup.binding([]) is None
