"""The state machine alone, fed recorded kernel traffic: no server, no ZMQ.

The recordings in tests/recorded/ come from a real ipykernel (see
record_iopub.py there)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jupyter_session_ext.api.serialize import execution_queue, finished_execution
from jupyter_session_ext.state.kernel_state import (
    BUSY,
    EXITED,
    IDLE,
    OFFLINE,
    READY,
    STARTING,
    UNINITIALIZED,
    KernelState,
)
from jupyter_session_ext.state.queue import (
    ExecutionQueue,
    QueueEntry,
    entry_from_server,
    preview,
)
from jupyter_session_ext.state.timestamps import isoformat

RECORDED = Path(__file__).parent / "recorded"


class Clock:
    """A hand-driven clock for monotonic time and wall time together."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.epoch = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.epoch + timedelta(seconds=self.t)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> KernelState:
    s = KernelState(monotonic=clock.monotonic, wallclock=clock.wall, code_preview_length=12)
    s.on_launch()
    s.on_kernel_info_reply({"status": "ok", "language_info": {"name": "python"}})
    return s


def replay(state: KernelState, events: list[dict], clock: Clock | None = None, step: float = 0.1):
    """Feed each recorded message to the state, `step` seconds apart on
    `clock`; yield (event, state) after each."""
    for event in events:
        if event["channel"] == "iopub":
            state.on_iopub(event)
        elif event["header"]["msg_type"] == "execute_request":
            state.on_execute_request(event)
        elif event["header"]["msg_type"] == "execute_reply":
            state.on_execute_reply(event)
        if clock:
            clock.advance(step)
        yield event, state


def load(name: str) -> list[dict]:
    return json.loads((RECORDED / f"{name}.json").read_text())


def iopub_only(events: list[dict]) -> list[dict]:
    return [e for e in events if e["channel"] == "iopub"]


def test_lifecycle_statuses():
    s = KernelState()
    assert s.status == UNINITIALIZED
    assert s.on_launch() and s.status == STARTING
    assert s.on_kernel_info_reply({"status": "ok"}) and s.status == READY
    assert s.on_unresponsive() and s.status == OFFLINE
    assert not s.on_unresponsive()
    assert s.on_kernel_info_reply({"status": "ok"}) and s.status == READY
    assert s.on_exit() and s.status == EXITED
    assert not s.on_unresponsive() and s.status == EXITED
    assert s.on_launch() and s.status == STARTING and s.kernel_info == {}


def test_queued_cells_replayed_from_iopub_only(state, clock):
    """A client this server does not see: IOPub alone gives active + count."""
    events = load("queued_cells")
    requests = [e for e in events if e["header"]["msg_type"] == "execute_request"]
    seen_active = []
    for event, s in replay(state, iopub_only(events), clock):
        if s.queue.active:
            seen_active.append(s.queue.active.msg_id)
        if event["header"]["msg_type"] == "execute_input":
            assert s.status == BUSY
            assert s.queue.active.msg_id == event["parent_header"]["msg_id"]
            assert s.queue.active.code == event["content"]["code"][:12]
    assert list(dict.fromkeys(seen_active)) == [r["header"]["msg_id"] for r in requests]
    assert state.status == IDLE and state.queue.active is None and len(state.queue) == 0
    assert state.execution_count == 3


def test_queued_cells_with_requests_seen(state, clock):
    """Requests seen on their way in are pending, in order, with cell ids."""
    events = load("queued_cells")
    requests = [
        e["header"]["msg_id"] for e in events if e["header"]["msg_type"] == "execute_request"
    ]
    for event, s in replay(state, events, clock):
        if (
            event["header"]["msg_type"] == "execute_input"
            and event["content"]["execution_count"] == 1
        ):
            q = execution_queue(s.queue)
            assert q["active"]["msg_id"] == requests[0]
            assert q["active"]["cell_id"] == "cell-a"
            assert q["active"]["code"] == "import time;" and q["active"]["code_truncated"]
            assert q["active"]["execution_count"] == 1
            assert [p["msg_id"] for p in q["pending"]] == requests[1:]
            assert [p["cell_id"] for p in q["pending"]] == ["cell-b", "cell-c"]
            assert q["length"] == 2
    assert execution_queue(state.queue) == {"active": None, "pending": [], "length": 0}
    assert state.status == IDLE


def test_error_with_stop_on_error_empties_the_queue(state, clock):
    events = load("error_aborts_queue")
    for event, s in replay(state, events, clock):
        if event["header"]["msg_type"] == "execute_input":
            assert s.queue.active.code == "raise ValueE"
            assert [p.cell_id for p in s.queue.pending] == ["cell-b", "cell-c"]
    assert execution_queue(state.queue) == {"active": None, "pending": [], "length": 0}
    assert state.status == IDLE
    assert state.execution_count == 1  # aborted requests never ran


def test_aborted_requests_do_not_come_back_after_their_reply(state, clock):
    events = load("error_aborts_queue")
    requests = [e for e in events if e["header"]["msg_type"] == "execute_request"]
    aborted = requests[1]["header"]["msg_id"]
    for e in requests:
        state.on_execute_request(e)
    reply = next(
        e
        for e in events
        if e["header"]["msg_type"] == "execute_reply" and e["parent_header"]["msg_id"] == aborted
    )
    assert state.on_execute_reply(reply)
    busy = next(
        e
        for e in events
        if e["header"]["msg_type"] == "status"
        and e["parent_header"]["msg_id"] == aborted
        and e["content"]["execution_state"] == "busy"
    )
    state.on_iopub(busy)
    assert state.queue.active is None or state.queue.active.msg_id != aborted
    assert aborted not in [p.msg_id for p in state.queue.pending]


def test_busy_and_idle_timers(state, clock):
    events = iopub_only(load("queued_cells"))
    busy = next(e for e in events if e["content"].get("execution_state") == "busy")
    idle = next(e for e in events if e["content"].get("execution_state") == "idle")
    clock.advance(5.5)
    assert (state.idle_seconds(), state.busy_seconds()) == (5, 0)  # ready counts as idle
    state.on_iopub(busy)
    clock.advance(2.2)
    assert (state.idle_seconds(), state.busy_seconds()) == (0, 2)
    state.on_iopub(idle)
    assert (state.idle_seconds(), state.busy_seconds()) == (0, 0)
    clock.advance(3.9)
    assert (state.idle_seconds(), state.busy_seconds()) == (3, 0)


def test_untracked_requests_do_not_make_the_kernel_busy(state):
    for parent_type in ("kernel_info_request", "comm_info_request"):
        for execution_state in ("busy", "idle"):
            changed = state.on_iopub(
                {
                    "header": {"msg_type": "status"},
                    "parent_header": {"msg_type": parent_type, "msg_id": "x"},
                    "content": {"execution_state": execution_state},
                }
            )
            assert not changed
    assert state.status == READY


def status(execution_state: str, parent_type: str, parent_id: str) -> dict:
    return {
        "header": {"msg_type": "status"},
        "parent_header": {"msg_type": parent_type, "msg_id": parent_id},
        "content": {"execution_state": execution_state},
    }


@pytest.mark.parametrize("control", ["usage_request", "debug_request", "create_subshell_request"])
def test_control_requests_neither_end_a_busy_period_nor_restart_idle_time(state, clock, control):
    """What jupyter-resource-usage's poll makes ipykernel publish, whatever
    the server's own list of untracked types says."""
    clock.advance(7)
    for execution_state in ("busy", "idle"):
        assert not state.on_iopub(status(execution_state, control, "u1"))
    assert state.status == READY and state.idle_seconds() == 7
    state.on_execute_request(
        {
            "header": {"msg_id": "cell", "msg_type": "execute_request"},
            "content": {"code": "import time; time.sleep(5)"},
        }
    )
    state.on_iopub(status("busy", "execute_request", "cell"))
    clock.advance(3)
    for execution_state in ("busy", "idle"):
        state.on_iopub(status(execution_state, control, "u2"))
    assert state.status == BUSY and state.busy_seconds() == 3
    assert state.queue.active.msg_id == "cell"
    state.on_iopub(status("idle", "execute_request", "cell"))
    assert state.status == IDLE and state.queue.active is None


def test_an_idle_for_another_request_leaves_the_running_cell_busy(state, clock):
    state.on_execute_request(
        {"header": {"msg_id": "cell", "msg_type": "execute_request"}, "content": {"code": "work()"}}
    )
    state.on_iopub(status("busy", "execute_request", "cell"))
    # A request another subshell ran meanwhile.
    state.on_iopub(status("busy", "inspect_request", "other"))
    state.on_iopub(status("idle", "inspect_request", "other"))
    assert state.status == BUSY and state.queue.active.msg_id == "cell"
    state.on_iopub(status("idle", "execute_request", "cell"))
    assert state.status == IDLE


def execute_input(parent_id: str, code: str, count: int) -> dict:
    return {
        "header": {"msg_type": "execute_input"},
        "parent_header": {"msg_type": "execute_request", "msg_id": parent_id},
        "content": {"code": code, "execution_count": count},
    }


def test_requests_a_server_extension_sends_take_their_cell_ids_when_they_run(state, clock):
    """nbmodel's requests, seen as the server accepted them (stand-in ids),
    then run under msg_ids of its own client's: the same code, in order."""
    for request, code, cell in (("r1", "first()", "c1"), ("r2", "second()", "c2")):
        assert state.submit(entry_from_server("nbmodel", request, code, cell, 12, clock.wall()))
    assert [e.cell_id for e in state.queue.pending] == ["c1", "c2"]
    clock.advance(1)
    state.on_iopub(status("busy", "execute_request", "zmq-1"))
    state.on_iopub(execute_input("zmq-1", "first()", 1))
    active = state.queue.active
    assert (active.msg_id, active.cell_id, active.via, active.seq) == ("zmq-1", "c1", "nbmodel", 1)
    assert active.submitted == clock.epoch + timedelta(seconds=1000)
    assert [e.cell_id for e in state.queue.pending] == ["c2"]
    state.on_iopub(status("idle", "execute_request", "zmq-1"))
    assert [(e.entry.cell_id, e.status) for e in state.history.executions()] == [("c1", "ok")]
    # Another client's code, not theirs: no cell id is borrowed.
    state.on_iopub(status("busy", "execute_request", "zmq-2"))
    state.on_iopub(execute_input("zmq-2", "other()", 2))
    assert state.queue.active.cell_id is None
    assert [e.cell_id for e in state.queue.pending] == ["c2"]
    state.on_iopub(status("idle", "execute_request", "zmq-2"))
    # Taken back before it ran.
    assert state.queue.withdraw("nbmodel", "r2")
    assert state.queue.pending == [] and not state.queue.withdraw("nbmodel", "r2")


def test_a_request_the_server_extension_skipped_is_dropped(state, clock):
    for request, code in (("r1", "a()"), ("r2", "b()"), ("r3", "c()")):
        state.submit(entry_from_server("nbmodel", request, code, request, 12, clock.wall()))
    state.on_iopub(status("busy", "execute_request", "zmq-1"))
    state.on_iopub(execute_input("zmq-1", "b()", 1))
    assert state.queue.active.cell_id == "r2"
    assert [e.cell_id for e in state.queue.pending] == ["r3"]


def test_server_track_message_type_is_honoured(clock):
    s = KernelState(track_message_type=lambda t: t == "execute_request", monotonic=clock.monotonic)
    s.on_launch()
    s.on_kernel_info_reply({})
    s.on_iopub(
        {
            "header": {"msg_type": "status"},
            "parent_header": {"msg_type": "inspect_request", "msg_id": "i"},
            "content": {"execution_state": "busy"},
        }
    )
    assert s.status == READY


def test_starting_status_means_a_new_process(state):
    state.on_execute_request(
        {"header": {"msg_id": "m1", "msg_type": "execute_request"}, "content": {"code": "1"}}
    )
    state.on_iopub(
        {
            "header": {"msg_type": "status"},
            "parent_header": {},
            "content": {"execution_state": "starting"},
        }
    )
    assert state.status == STARTING and state.kernel_info == {} and len(state.queue) == 0


def test_exit_clears_the_queue(state):
    state.on_execute_request({"header": {"msg_id": "m1"}, "content": {"code": "1"}})
    assert len(state.queue) == 1
    assert state.on_exit()
    assert execution_queue(state.queue) == {"active": None, "pending": [], "length": 0}


def test_any_message_brings_an_offline_kernel_back(state):
    state.on_unresponsive()
    state.on_iopub({"header": {"msg_type": "stream"}, "parent_header": {}, "content": {}})
    assert state.status == READY


def test_garbage_messages_change_nothing(state):
    for msg in (
        {},
        {"header": None},
        {"header": {"msg_type": "status"}, "content": None},
        {"header": {"msg_type": "execute_input"}, "parent_header": {"msg_id": 5}},
    ):
        state.on_iopub(msg)
    assert not state.on_execute_request({"header": {}})
    assert not state.on_execute_reply({})
    assert state.status == READY and len(state.queue) == 0


def test_queue_memory_does_not_grow_with_executions():
    q = ExecutionQueue()
    now = datetime.now(timezone.utc)
    for i in range(10_000):
        q.submit(QueueEntry(msg_id=str(i), code="1"))
        q.start(str(i), now=now)
        q.finish(str(i))
    assert q.active is None and len(q) == 0
    assert len(q._finished) <= ExecutionQueue.FINISHED_MEMORY


def test_preview_and_isoformat():
    assert preview("abcdef", 3) == ("abc", True)
    assert preview("abc", 3) == ("abc", False)
    assert preview("abcdef", 0) == ("abcdef", False)
    assert isoformat(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02T03:04:05Z"
    assert isoformat(None) is None


def test_requests_sent_in_the_same_instant_stay_pending():
    """Submission order, not clock readings, decides what was skipped."""
    q = ExecutionQueue()
    same = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for msg_id in ("a", "b", "c"):
        q.submit(QueueEntry(msg_id=msg_id, code="", client_session_id="tab", submitted=same))
    q.start("a", now=same)
    assert [e.msg_id for e in q.pending] == ["b", "c"]
    q.finish("a")
    q.start("c", now=same)  # b was skipped (its abort reply missed): it goes
    assert q.pending == [] and q.active.msg_id == "c"


# -- execution history ------------------------------------------------------------


def outcomes(state: KernelState) -> list[tuple[str, str | None]]:
    return [(f.status, f.error_name) for f in state.history.executions()]


def test_history_from_replies_error_then_aborted(state, clock):
    for _ in replay(state, load("error_aborts_queue"), clock):
        pass
    # Newest first: the two cells aborted behind the error, then the error.
    assert outcomes(state) == [("aborted", None), ("aborted", None), ("error", "ValueError")]
    assert [f.entry.cell_id for f in state.history.executions()] == ["cell-c", "cell-b", "cell-a"]
    assert state.history.total == 3


def test_history_from_iopub_alone_tells_error_and_aborted(state, clock):
    for _ in replay(state, iopub_only(load("error_aborts_queue")), clock):
        pass
    assert outcomes(state) == [("aborted", None), ("aborted", None), ("error", "ValueError")]


def test_history_durations_and_expected_seconds_of_a_rerun_cell(state, clock):
    events = load("queued_cells")
    for _ in replay(state, events, clock, step=1.0):
        pass
    assert outcomes(state) == [("ok", None)] * 3
    first = state.history.executions()[-1]
    assert first.entry.cell_id == "cell-a"
    # The kernel's own stamps, busy to reply (the cell slept 0.5 s), not our
    # clock of reading them (1 s per message here).
    assert first.duration_seconds == pytest.approx(0.506, abs=0.001)
    assert finished_execution(first)["ended"] and finished_execution(first)["status"] == "ok"
    rerun = dict(events[0], header=dict(events[0]["header"], msg_id="rerun"))
    state.on_execute_request(rerun)
    assert state.queue.pending[-1].expected_seconds == first.duration_seconds
    assert execution_queue(state.queue)["pending"][-1]["expected_seconds"] == first.duration_seconds
    other = dict(
        events[0],
        header=dict(events[0]["header"], msg_id="new-cell"),
        metadata={"cellId": "never-ran"},
    )
    state.on_execute_request(other)
    assert state.queue.pending[-1].expected_seconds is None


def _msg(channel, msg_type, parent_id, content, msg_id=None):
    return {
        "channel": channel,
        "header": {"msg_id": msg_id or f"{msg_type}-{parent_id}", "msg_type": msg_type},
        "parent_header": {"msg_id": parent_id, "msg_type": "execute_request"},
        "content": content,
        "metadata": {},
    }


def test_a_reply_after_idle_corrects_the_guess(state):
    state.on_iopub(_msg("iopub", "status", "m1", {"execution_state": "busy"}))
    state.on_iopub(_msg("iopub", "execute_input", "m1", {"code": "x", "execution_count": 1}))
    state.on_iopub(_msg("iopub", "status", "m1", {"execution_state": "idle"}))
    assert outcomes(state) == [("ok", None)]
    state.on_execute_reply(
        _msg("shell", "execute_reply", "m1", {"status": "error", "ename": "KeyboardInterrupt"})
    )
    assert outcomes(state) == [("error", "KeyboardInterrupt")]
    assert state.history.total == 1


def test_a_late_reply_never_takes_the_count_back(state):
    """Under load: the reply to cell 2 is read after IOPub told of cell 3 (the
    router reads IOPub first, and it held both), and cell 3's own ok reply is
    not read at all (IOPub said everything it would). The count stayed 2."""
    for i, cell in enumerate(("m1", "m2", "m3"), start=1):
        state.on_iopub(_msg("iopub", "status", cell, {"execution_state": "busy"}))
        state.on_iopub(_msg("iopub", "execute_input", cell, {"code": "x", "execution_count": i}))
        state.on_iopub(_msg("iopub", "status", cell, {"execution_state": "idle"}))
    state.on_execute_reply(
        _msg("shell", "execute_reply", "m2", {"status": "ok", "execution_count": 2})
    )
    assert state.execution_count == 3


def test_history_and_durations_are_bounded(clock):
    s = KernelState(monotonic=clock.monotonic, wallclock=clock.wall, history_length=5)
    s.on_launch()
    for i in range(3000):
        request = _msg("shell", "execute_request", "", {"code": "pass"}, msg_id=f"r{i}")
        request["metadata"] = {"cellId": f"cell-{i}"}
        s.on_execute_request(request)
        s.on_iopub(_msg("iopub", "status", f"r{i}", {"execution_state": "busy"}))
        s.on_iopub(_msg("iopub", "execute_input", f"r{i}", {"code": "pass"}))
        s.on_execute_reply(_msg("shell", "execute_reply", f"r{i}", {"status": "ok"}))
        s.on_iopub(_msg("iopub", "status", f"r{i}", {"execution_state": "idle"}))
    assert s.history.total == 3000
    assert [f.entry.msg_id for f in s.history.executions()] == [
        f"r{i}" for i in range(2999, 2994, -1)
    ]
    assert len(s.history._durations) == s.history.MIN_CELLS
    assert s.history.expected_seconds("cell-2999") is not None
    assert s.history.expected_seconds("cell-0") is None


def test_without_kernel_timestamps_the_duration_is_ours(state, clock):
    state.on_iopub(_msg("iopub", "status", "m1", {"execution_state": "busy"}))
    clock.advance(2.5)
    state.on_iopub(_msg("iopub", "execute_input", "m1", {"code": "x", "execution_count": 1}))
    state.on_iopub(_msg("iopub", "status", "m1", {"execution_state": "idle"}))
    assert state.history.latest.duration_seconds == pytest.approx(2.5)


def test_a_reply_before_execute_input_still_gives_the_count(state):
    """Under load the reply (shell, through the server) can be read before
    the execute_input (our own IOPub socket): the history keeps the count."""
    request = _msg("shell", "execute_request", "", {"code": "x = 1"}, msg_id="m1")
    state.on_execute_request(request)
    state.on_iopub(_msg("iopub", "status", "m1", {"execution_state": "busy"}))
    state.on_execute_reply(
        _msg("shell", "execute_reply", "m1", {"status": "ok", "execution_count": 7})
    )
    state.on_iopub(_msg("iopub", "execute_input", "m1", {"code": "x = 1", "execution_count": 7}))
    state.on_iopub(_msg("iopub", "status", "m1", {"execution_state": "idle"}))
    finished = state.history.latest
    assert (finished.entry.execution_count, finished.status) == (7, "ok")
    assert state.history.total == 1


def test_a_flood_is_kept_bounded_and_counted_exactly(clock):
    """3,000 requests with 1,000-character ids behind one long cell: at most
    max_pending kept whole, every one counted, each still found when the
    kernel runs and ends it."""
    s = KernelState(monotonic=clock.monotonic, wallclock=clock.wall, max_pending=100)
    s.on_launch()
    s.on_kernel_info_reply({})
    long = "m" * 1000
    ids = [f"{long}{i}" for i in range(3000)]
    for msg_id in ids:
        s.on_execute_request(
            {
                "header": {"msg_id": msg_id, "session": "s" * 1000},
                "metadata": {"cellId": "c" * 1000},
                "content": {"code": "1"},
            }
        )
    assert len(s.queue) == 3000 and len(s.queue.pending) == 100
    kept = s.queue.pending[0]
    assert (
        len(kept.msg_id) < 100 and len(kept.cell_id) == 256 and len(kept.client_session_id) == 256
    )
    for msg_id in ids[:150]:  # the kept ones, then some counted only
        for state in ("busy", "idle"):
            s.on_iopub(
                {
                    "header": {"msg_type": "status"},
                    "parent_header": {"msg_type": "execute_request", "msg_id": msg_id},
                    "content": {"execution_state": state},
                }
            )
    assert len(s.queue) == 2850 and s.queue.active is None
    assert s.history.total == 150
    s.on_launch()
    assert len(s.queue) == 0
