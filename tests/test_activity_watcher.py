"""The server's IOPub activity watcher's job, done from one parse shared with
the observer (activity_watcher.py): the same messages, fed to jupyter_server's
own `record_activity` and to `ServerActivity` from the same starting state,
must leave the kernel and its manager in the same state and raise the same
errors. Real server, real kernel, messages signed with the kernel's key."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from jupyter_client.session import Session

from jupyter_session_ext.server_hooks import RECORD_ACTIVITY_QUALNAME as QUALNAME
from jupyter_session_ext.traffic.activity_watcher import server_activity
from jupyter_session_ext.traffic.iopub import SharedParseTap
from jupyter_session_ext.traffic.own_requests import OWN_SESSION

from conftest import ready

LONG_AGO = datetime(2001, 1, 1, tzinfo=timezone.utc)


def wire(session: Session, msg: dict[str, Any]) -> list[bytes]:
    return [b"kernel.x.topic", *session.serialize(msg)]


def messages(session: Session) -> list[tuple[str, list[bytes]]]:
    """What a kernel publishes, and what it must not be believed to publish."""
    execute = session.msg("execute_request", {"code": "1"})["header"]
    info = session.msg("kernel_info_request", {})["header"]

    def status(state: str, parent: dict[str, Any] | None) -> list[bytes]:
        return wire(session, session.msg("status", {"execution_state": state}, parent=parent))

    busy = status("busy", execute)
    cases = [
        ("busy, for an execution", busy),
        # Untracked (status for kernel_info) but the kernel is busy: activity.
        ("busy, for kernel_info, while busy", status("busy", info)),
        (
            "stream output",
            wire(session, session.msg("stream", {"name": "stdout", "text": "1"}, parent=execute)),
        ),
        ("idle, for an execution", status("idle", execute)),
        ("idle, for kernel_info", status("idle", info)),
        ("starting", status("starting", None)),
        # While starting, untracked statuses other than starting mean idle.
        ("starting, for kernel_info", status("starting", info)),
        ("busy, for kernel_info, while starting", status("busy", info)),
        (
            "a comm message without parent",
            wire(session, session.msg("comm_msg", {"comm_id": "c", "data": {}})),
        ),
        ("busy again (a replay)", busy),
        (
            "signed with another key",
            wire(
                Session(key=b"not-the-key"),
                session.msg("status", {"execution_state": "busy"}, parent=execute),
            ),
        ),
        ("not signed", [b"t", b"<IDS|MSG>", b"", *busy[3:]]),
        ("no content part", [b"t", b"<IDS|MSG>", session.sign(busy[3:6]), *busy[3:6]]),
        (
            "status without execution_state",
            wire(session, session.msg("status", {}, parent=execute)),
        ),
    ]
    # A header that is not JSON, metadata that is not JSON: signed all the same.
    for part, name in ((0, "a header"), (2, "metadata")):
        parts = list(busy[3:7])
        parts[part] = b"{not json"
        cases.append(
            (f"{name} that is not JSON", [b"t", b"<IDS|MSG>", session.sign(parts), *parts])
        )
    # Protocol 4 (no version in the header): record_activity adapts it, and
    # pyout becomes execute_result, which is not activity for kernel_info.
    for msg_type, parent in (("pyin", execute), ("pyout", info)):
        old = session.msg(msg_type, {"execution_count": 1, "data": {}}, parent=parent)
        del old["header"]["version"]
        cases.append((f"protocol 4's {msg_type}", wire(session, old)))
    return cases


def outcome(
    record: Any, msg_list: list[bytes], kernel: Any, manager: Any, session: Session
) -> tuple[Any, ...]:
    try:
        record(msg_list)
        error = None
    except Exception as err:  # the stream logs it; which one matters
        error = (type(err).__name__, str(err))
    return (
        error,
        kernel.execution_state,
        kernel.last_activity != LONG_AGO,
        manager.last_kernel_activity != LONG_AGO,
        frozenset(session.digest_history),
    )


async def test_the_watchers_job_is_done_exactly(api, registry, jp_serverapp):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    registry.get(kernel_id)
    channels = registry.tracker.channels[kernel_id]
    kernel, manager = channels.km, jp_serverapp.kernel_manager
    tap = kernel._activity_stream._recv_callback
    # The installed jupyter_server's watcher is one we know: its job is shared.
    assert isinstance(tap, SharedParseTap), type(tap)
    assert tap.activity.kernel is kernel and tap.activity.manager is manager
    watcher_session = tap.activity.session
    cases = messages(kernel.session)

    for start in ("idle", "busy", "starting"):
        runs = {}
        for name, record in (("jupyter_server", tap.original), ("ours", tap.activity.record)):
            # Both from the same state: nothing awaits in between, so the
            # kernel's own traffic cannot interleave.
            kernel.execution_state = start
            digests = set(watcher_session.digest_history)
            seen = []
            for case, msg_list in cases:
                kernel.last_activity = manager.last_kernel_activity = LONG_AGO
                seen.append((case, outcome(record, msg_list, kernel, manager, watcher_session)))
            runs[name] = seen
            watcher_session.digest_history.clear()
            watcher_session.digest_history.update(digests)
        for theirs, ours in zip(runs["jupyter_server"], runs["ours"], strict=True):
            assert ours == theirs, (start, ours, theirs)
        # The cases do cover what the watcher does: errors, state changes,
        # activity and none.
        outcomes = [o for _case, o in runs["ours"]]
        assert any(o[0] is None and o[2] for o in outcomes)
        assert any(o[0] is None and not o[2] for o in outcomes) or start == "busy"
        assert {o[0][0] for o in outcomes if o[0]} >= {
            "ValueError",
            "KeyError",
            "TypeError",
            "JSONDecodeError",
        }
    kernel.execution_state = "idle"


async def test_the_observer_reads_what_the_watcher_parsed(api, registry):
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    tracked = registry.get(kernel_id)
    channels = registry.tracker.channels[kernel_id]
    tap = channels.km._activity_stream._recv_callback
    session = channels.km.session
    execute = session.msg("execute_request", {"code": "x = 1"})
    tap(wire(session, session.msg("status", {"execution_state": "busy"}, parent=execute["header"])))
    tap(
        wire(
            session,
            session.msg(
                "execute_input", {"code": "x = 1", "execution_count": 7}, parent=execute["header"]
            ),
        )
    )
    assert tracked.state.status == "busy"
    assert tracked.state.queue.active.code == "x = 1"
    assert tracked.state.execution_count == 7
    assert channels.km.execution_state == "busy"  # the server's watcher's job too
    tap(wire(session, session.msg("status", {"execution_state": "idle"}, parent=execute["header"])))
    assert tracked.state.status == "idle" and channels.km.execution_state == "idle"
    assert tracked.state.history.latest.entry.msg_id == execute["header"]["msg_id"]


def test_only_a_watcher_we_know_line_for_line_is_taken_over():
    def record_activity(msg_list):  # the name, not the code
        pass

    record_activity.__qualname__ = QUALNAME
    assert server_activity(record_activity) is None
    assert server_activity(lambda msg_list: None) is None
    assert server_activity(print) is None


async def test_what_answers_our_own_requests_moves_nothing_the_server_reports(
    api, registry, jp_serverapp
):
    """The kernel's statuses (and anything else) for one of the extension's
    own requests leave jupyter_server's model of the kernel as it is, from
    any state, even where the server counts kernel_info as activity; the
    same messages for anyone else's request are counted as the server
    counts them."""
    kernel_id = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    tracked = registry.get(kernel_id)
    channels = registry.tracker.channels[kernel_id]
    kernel, manager = channels.km, jp_serverapp.kernel_manager
    tap = kernel._activity_stream._recv_callback
    assert isinstance(tap, SharedParseTap)
    session = kernel.session  # the kernel signs what it publishes with its key

    def published(parent: dict[str, Any]) -> list[list[bytes]]:
        def status(state: str) -> list[bytes]:
            return wire(session, session.msg("status", {"execution_state": state}, parent=parent))

        stream = session.msg("stream", {"name": "stdout", "text": "x"}, parent=parent)
        return [status("busy"), wire(session, stream), status("idle")]

    def model() -> tuple[Any, ...]:
        return kernel.execution_state, kernel.last_activity, manager.last_kernel_activity

    default = list(manager.untracked_message_types)
    counted = [t for t in default if not t.startswith("kernel_info")]
    theirs_counted = []
    try:
        for untracked in (default, counted):
            manager.untracked_message_types = untracked
            for start in ("starting", "idle", "busy"):
                kernel.execution_state = start
                kernel.last_activity = manager.last_kernel_activity = LONG_AGO
                status = tracked.state.status
                channels.iopub.own_answered.clear()
                ours = {**session.msg_header("kernel_info_request"), "session": OWN_SESSION}
                for msg_list in published(ours):
                    tap(msg_list)
                assert model() == (start, LONG_AGO, LONG_AGO), (untracked == default, start)
                assert tracked.state.status == status
                assert channels.iopub.own_answered.is_set()

                theirs = session.msg_header("kernel_info_request")
                for msg_list in published(theirs):
                    tap(msg_list)
                theirs_counted.append(model() != (start, LONG_AGO, LONG_AGO))
    finally:
        manager.untracked_message_types = default
        kernel.execution_state = "idle"
    # starting becomes idle; busy is activity; counted kernel_info is too.
    assert theirs_counted == [True, False, True, True, True, True]
