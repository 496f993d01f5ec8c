"""A kernel's process tree and its memory over time: the sampler finds a
kernel's children and grandchildren and no one else's processes, the
timeline stays bounded, and the resources routes answer from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from jupyter_session_ext.memory import processes
from jupyter_session_ext.state.timeline import ResourceTimeline, Sample

from conftest import poll, started

# A process that starts a child that starts a grandchild, and says their pids.
TREE = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', "
    '\'import subprocess, time; g = subprocess.Popen(["sleep", "60"]); '
    "print(g.pid, flush=True); time.sleep(60)'], stdout=subprocess.PIPE)\n"
    "print(child.pid, child.stdout.readline().decode().strip(), flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def tree():
    root = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE)
    stranger = subprocess.Popen(["sleep", "60"])  # the test's own, not the root's
    child, grandchild = (int(p) for p in root.stdout.readline().split())
    try:
        yield root.pid, child, grandchild, stranger.pid
    finally:
        for proc in (root, stranger):
            proc.kill()
            proc.wait()
        for pid in (child, grandchild):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("use_procfs", [True, False], ids=["task-children", "table-scan"])
def test_families_hold_children_and_grandchildren_and_no_one_else(tree, use_procfs):
    if use_procfs and not processes._HAS_CHILDREN:
        pytest.skip("no /proc/<pid>/task/<tid>/children here")
    root, child, grandchild, stranger = tree
    family = processes.families([root], use_procfs=use_procfs)[root]
    assert family[0] == root
    assert set(family) == {root, child, grandchild}
    assert stranger not in family


def test_the_sampler_adds_up_the_tree_and_lets_ended_processes_go(tree):
    root, child, grandchild, stranger = tree
    sampler = processes.ResourceSampler()
    sample = sampler.sample([root])[root]
    assert set(sampler.family(root)) == {root, child, grandchild}
    assert sample["memory_bytes"] == pytest.approx(
        processes.rss([root, child, grandchild]), rel=0.2
    )
    assert sample["thread_count"] >= 3
    assert sampler.sample([]) == {}
    assert sampler.family(root) == (root,)  # forgotten once no sample covers it


def open_files() -> int:
    """How many /proc/<pid>/statm files this process holds open."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}").endswith("/statm")
        except OSError:
            continue  # the descriptor of the listing itself, closed by now
    return found


@pytest.mark.skipif(not processes._HAS_CHILDREN, reason="reads /proc/<pid>/statm")
def test_resident_memory_reads_files_it_keeps_open_and_closes_those_of_ended_processes(tree):
    """Each execution's start and end read a kernel's memory on the event
    loop: through a file kept open, not opened each time. The figure is
    the fresh one, a process that ended gives none, and its file is closed."""
    root, child, grandchild, stranger = tree
    before = open_files()
    resident = processes.ResidentMemory()
    family = [root, child, grandchild]
    assert resident.rss(family) == processes.rss(family)
    assert open_files() == before + 3
    grower = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.stdin.readline(); x = b'x' * 80_000_000;"
            " print(flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        small = resident.rss([grower.pid])
        grower.stdin.write(b"grow\n")
        grower.stdin.flush()
        grower.stdout.readline()  # it has allocated
        assert resident.rss([grower.pid]) - small >= 70_000_000  # read anew, not kept
    finally:
        grower.kill()
        grower.wait()
    assert resident.rss([grower.pid]) is None
    assert open_files() == before + 3
    resident.keep([root])
    assert open_files() == before + 1
    resident.keep(())
    assert open_files() == before


def stamp(seconds: float) -> datetime:
    return datetime(2026, 12, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)


def test_the_timeline_folds_fast_samples_and_keeps_its_bound():
    timeline = ResourceTimeline(seconds=60, interval=5)
    for i in range(100):  # every 0.5 s for 50 s: one point per 5 s
        timeline.add(Sample(stamp(i * 0.5), 1000 + (5000 if i == 33 else i), float(i % 7)))
    points = timeline.samples()
    assert len(points) == 10
    assert max(p.memory_bytes for p in points) == 6000  # a spike is not lost
    for i in range(100, 400):
        timeline.add(Sample(stamp(i * 0.5), i, 0.0))
    assert len(timeline.samples()) == 13  # 60 s at one per 5 s, and the newest
    assert [p.at for p in timeline.samples()] == sorted(p.at for p in timeline.samples())
    few = timeline.samples(points=4)
    assert len(few) <= 4 and few[-1].memory_bytes == max(
        p.memory_bytes for p in timeline.samples()[-4:]
    )
    timeline.configure(seconds=10, interval=5)
    assert len(timeline.samples()) == 3


async def test_the_resources_routes_answer_from_the_timeline(api, open_client):
    kernel, client = await started(api, open_client)
    timeline = await poll(
        lambda: api.get("api", "active-sessions", kernel, "resources"),
        lambda t: len(t["samples"]) >= 3,
    )
    assert timeline["interval_seconds"] == 0.2
    assert set(timeline["samples"][0]) == {"t", "memory_bytes", "cpu_percent"}
    assert all(s["memory_bytes"] > 0 for s in timeline["samples"])
    assert [s["t"] for s in timeline["samples"]] == sorted(s["t"] for s in timeline["samples"])
    few = await api.get("api", "active-sessions", kernel, "resources", params={"points": "2"})
    assert len(few["samples"]) <= 2
    every = await api.get("api", "active-sessions", "resources", params={"points": "5"})
    assert set(every["sessions"]) == {kernel}
    assert len(every["sessions"][kernel]["samples"]) <= 5
    for bad in ("0", "-1", "x", "99999999"):
        code, body = await api.call(
            "GET", "api", "active-sessions", kernel, "resources", params={"points": bad}
        )
        assert code == 400 and "points" in body["message"]
    code, body = await api.call("GET", "api", "active-sessions", "nope", "resources")
    assert code == 404


async def test_a_history_entry_says_what_its_cell_did_to_memory(api, open_client):
    kernel, client = await started(api, open_client)
    await api.wait_session(kernel, lambda s: s["resource_usage"] is not None)
    msg_id = client.send_execute("kept = b'k' * 200_000_000")
    await client.finished(msg_id)
    history = await poll(
        lambda: api.get("api", "active-sessions", kernel, "history"),
        lambda h: h["executions"] and h["executions"][0]["msg_id"] == msg_id,
    )
    entry = history["executions"][0]
    grown = entry["memory_end_bytes"] - entry["memory_start_bytes"]
    assert 0.85 * 200e6 <= grown <= 1.15 * 200e6, entry
    assert entry["memory_peak_bytes"] >= entry["memory_end_bytes"]


# A stand-in kernel process: each line on stdin allocates that many bytes
# (kept), then it says "ok".
GROWER = (
    "import sys\n"
    "kept = []\n"
    "for line in sys.stdin:\n"
    "    kept.append(b'g' * int(line))\n"
    "    print('ok', flush=True)\n"
)


def test_back_to_back_cells_whose_end_the_server_reads_late_share_that_end():
    """jupyter_server reads IOPub on a socket of its own: the browser can see
    a cell end, and the kernel begin the next, before the server reads that
    end. The next cell starts at that end, not at a reading from before the
    cell before (which would give both cells its growth)."""
    from jupyter_session_ext.lifecycle.resources import ResourceMonitor
    from jupyter_session_ext.memory.limits import MemoryWatch
    from jupyter_session_ext.state.changes import Changes
    from jupyter_session_ext.state.kernel_state import KernelState
    from jupyter_session_ext.state.record import ProcessSnapshot, TrackedKernel

    proc = subprocess.Popen(
        [sys.executable, "-c", GROWER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        tracked = TrackedKernel("k", KernelState())
        now = datetime.now(timezone.utc)
        tracked.on_launch(ProcessSnapshot(proc.pid, [], "", now, "", None), "", tracked.spec)
        tracked.state.on_kernel_info_reply({"status": "ok"})
        changes = Changes()
        kernels = lambda: [tracked]  # noqa: E731
        monitor = ResourceMonitor(kernels, lambda: 5.0, MemoryWatch(kernels), None)
        changes.listen(monitor.changed)

        def feed(update, *args):
            before = changes.before(tracked)
            update(*args)
            changes.since(tracked, before)

        def request(msg_id):
            header = {"msg_id": msg_id, "msg_type": "execute_request"}
            return {"header": header, "parent_header": {}, "content": {"code": msg_id}}

        def status(msg_id, state, at):
            header = {"msg_id": msg_id + state, "msg_type": "status", "date": at.isoformat()}
            parent = {"msg_id": msg_id, "msg_type": "execute_request"}
            return {
                "header": header,
                "parent_header": parent,
                "content": {"execution_state": state},
            }

        feed(tracked.state.on_execute_request, request("big"))  # to an idle kernel: a mark
        feed(tracked.state.on_iopub, status("big", "busy", datetime.now(timezone.utc)))
        proc.stdin.write("150000000\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "ok\n"
        ended = datetime.now(timezone.utc)
        # The browser had big's end and sent the next cell, which the kernel
        # began, before the server read big's idle.
        feed(tracked.state.on_execute_request, request("next"))
        feed(tracked.state.on_iopub, status("big", "idle", ended))
        feed(tracked.state.on_iopub, status("next", "busy", ended))
        feed(tracked.state.on_iopub, status("next", "idle", datetime.now(timezone.utc)))

        grown = {
            f.entry.msg_id: f.memory_end_bytes - f.entry.memory_start_bytes
            for f in tracked.state.history.executions()
        }
        assert 0.85 * 150e6 <= grown["big"] <= 1.15 * 150e6, grown
        assert abs(grown["next"]) < 10e6, grown
    finally:
        proc.kill()
        proc.wait()
