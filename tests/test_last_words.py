"""A kernel's last words, on a real server with real ipykernel kernels:
what its process wrote last on stderr and stdout, where it faulted (the
signal, the cell, the line), kept with `last_exit` and the ended record;
a start that fails; who may read the text."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest
from ipykernel.compiler import get_tmp_hash_seed, murmur2_x86

from conftest import events_until, poll, ready, started
from last_words_kernels import kernelspec
from openapi_check import check

# The crash is on the cell's third line.
CRASH = "import ctypes\nvalue = 1\nctypes.string_at(0)  # line 3\n"
# Written where a C library writes: fd 2. (ipykernel copies it to the
# notebook and, from a thread of its own, to its original stderr: the cell
# that writes it waits for the notebook to show it, as one would, so that
# the copy is made before the next cell crashes the process.)
MARKER = "import os\nos.write(2, b'MARKER-5f1e: about to crash\\n')\n"


@pytest.fixture(autouse=True)
def ipykernel_as_users_run_it(jp_data_dir):
    """python3 is ipykernel capturing its fd 1 and 2, as outside the tests."""
    return kernelspec(jp_data_dir)


def gated(code: str, go: object) -> str:
    """`code` run once the file `go` exists: the test makes it when the
    server has seen the cell start (its IOPub is on a thread of the
    kernel's that a crash at once would not let speak). Two lines more."""
    return f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.01)\n" + code


async def go_when_running(api, kernel: str, go) -> None:
    await api.wait_session(kernel, lambda s: s["execution_queue"]["active"] is not None)
    go.touch()


def restarted(s):
    return s["restart_count"] == 1 and s["status"] in ("ready", "idle")


async def marker_shown(client):
    msg_id = client.send_execute(MARKER, cell_id="c-marker")
    await client.wait_for(
        lambda m: (
            m["header"]["msg_type"] == "stream" and "MARKER-5f1e" in m["content"].get("text", "")
        )
    )
    await client.finished(msg_id)


async def test_a_segfault_names_the_signal_the_cell_the_line_and_what_was_written(api, open_client):
    kernel, client = await started(api, open_client)
    before = await api.session(kernel)
    await marker_shown(client)
    client.send_execute(CRASH, cell_id="c-crash")
    s = await api.wait_session(kernel, restarted, timeout=60)
    check("ActiveSession", s)
    exit = s["last_exit"]
    assert exit["reason"] == "killed" and exit["signal"] == signal.SIGSEGV
    words = exit["last_words"]
    text = words["text"]
    assert "MARKER-5f1e: about to crash" in text
    assert "Fatal Python error: Segmentation fault" in text
    # The fault handler's frame: the cell's file, named by its code's hash.
    cell_file = f"ipykernel_{before['process_id']}/{murmur2_x86(CRASH, get_tmp_hash_seed())}.py"
    assert f'{cell_file}", line 3 in <module>' in text
    assert words["fault"] == {
        "signal": "SIGSEGV",
        "message": "Segmentation fault",
        "cell_id": "c-crash",
        "execution_count": 2,
        "line": 3,
        "code_line": "ctypes.string_at(0)  # line 3",
        "inner": None,
    }
    assert words["summary"] == (
        "Segmentation fault in cell [2] (c-crash), line 3: `ctypes.string_at(0)  # line 3`"
    )
    assert words["why_null"] is None and words["truncated"] is False


async def test_where_the_traceback_lands_without_the_startup_file(
    api, jp_data_dir, open_client, tmp_path
):
    """With the handler on at the interpreter's start but not pointed past
    ipykernel's capture (a PYTHONSTARTUP of the user's own), the traceback
    goes into ipykernel's pipe on fd 2, whose reader dies with the process:
    lost. The signal and the cell that was running still say where."""
    kernelspec(jp_data_dir, "own-startup", env={"PYTHONSTARTUP": os.devnull})
    code, model = await api.call("POST", "api", "kernels", body={"name": "own-startup"})
    assert code == 201
    kernel = model["id"]
    await api.wait_session(kernel, ready)
    client = await open_client(kernel)
    await marker_shown(client)
    client.send_execute(gated(CRASH, tmp_path / "go"), cell_id="c-crash")
    await go_when_running(api, kernel, tmp_path / "go")
    s = await api.wait_session(kernel, restarted, timeout=60)
    words = s["last_exit"]["last_words"]
    assert "MARKER-5f1e" in words["text"]
    assert "Fatal Python error" not in words["text"]
    assert words["fault"] == {
        "signal": "SIGSEGV",
        "message": "Segmentation fault",
        "cell_id": "c-crash",
        "execution_count": 2,
        "line": None,
        "code_line": None,
        "inner": None,
    }
    assert words["summary"] == "Segmentation fault while running cell [2] (c-crash)"


class TestWithoutAutoRestart:
    """A kernel that dies stays dead: its ended record says why."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {**jp_server_config, "KernelManager": {"autorestart": False}}

    async def test_an_abort_is_sigabrt_in_the_ended_record_and_its_event(
        self, api, open_client, session_events
    ):
        kernel, client = await started(api, open_client)
        client.send_execute("import os\n\nos.abort()", cell_id="c-abort")
        await api.wait_session(kernel, lambda s: s["status"] == "exited", timeout=60)
        code, _ = await api.call("DELETE", "api", "kernels", kernel)
        assert code == 204
        record = await api.ended_record(kernel)
        check("EndedSession", record)
        assert record["reason"] == "killed" and record["signal"] == signal.SIGABRT
        words = record["last_words"]
        assert "Fatal Python error: Aborted" in words["text"]
        assert words["fault"]["signal"] == "SIGABRT" and words["fault"]["message"] == "Aborted"
        assert (words["fault"]["cell_id"], words["fault"]["line"]) == ("c-abort", 3)
        assert words["summary"].startswith("Aborted in cell [1] (c-abort), line 3")
        # The event carries where, not the text nor the code.
        events = await events_until(
            session_events,
            lambda ev: any(e["action"] == "ended" and e["session_id"] == kernel for e in ev),
        )
        said = next(e for e in events if e["action"] == "ended")["last_words"]
        assert said["text"] is None and said["why_null"] == "hidden"
        assert said["fault"]["signal"] == "SIGABRT" and said["fault"]["code_line"] is None
        assert said["summary"] == "Aborted in cell [1] (c-abort), line 3"

    async def test_a_clean_shutdown_keeps_what_the_process_wrote(self, api, open_client):
        kernel, client = await started(api, open_client)
        await client.execute("import os\nos.write(1, b'C-LEVEL-STDOUT-7d2\\n')")
        code, _ = await api.call("DELETE", "api", "kernels", kernel)
        assert code == 204
        record = await api.ended_record(kernel)
        assert record["reason"] == "shutdown"
        assert "C-LEVEL-STDOUT-7d2" in record["last_words"]["text"]
        assert record["last_words"]["fault"] is None and record["last_words"]["summary"] is None


@pytest.fixture
def failing_kernelspec(jp_data_dir):
    """A kernelspec whose process says what is wrong and exits 3."""
    said = "import sys; sys.stderr.write('kernel-boom: no module named nowhere\\n'); sys.exit(3)"
    argv = [sys.executable, "-c", said, "{connection_file}"]
    return kernelspec(jp_data_dir, "fails", argv, display_name="Fails")


class TestAFailedStart:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        # The restarter tries once more, soon, then gives up.
        return {
            **jp_server_config,
            "KernelRestarter": {"time_to_dead": 0.5, "restart_limit": 1},
        }

    async def test_a_kernel_that_exits_before_it_answers_failed_to_start(
        self, api, failing_kernelspec
    ):
        code, model = await api.call("POST", "api", "kernels", body={"name": failing_kernelspec})
        assert code == 201, model
        record = await api.ended_record(model["id"], timeout=90)
        check("EndedSession", record)
        assert record["reason"] == "failed_to_start"
        assert record["exit_code"] == 3 and record["signal"] is None
        assert "kernel-boom: no module named nowhere" in record["last_words"]["text"]
        assert record["last_words"]["fault"] is None


class TestReadOnly:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {
            **jp_server_config,
            "ServerApp": {
                **jp_server_config["ServerApp"],
                "authorizer_class": "read_only_authorizer.ReadOnlyAuthorizer",
            },
        }

    async def test_a_reader_who_may_not_execute_sees_none_of_the_text(
        self, api, jp_serverapp, registry, tmp_path
    ):
        kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
        before = await api.wait_session(kernel_id, ready)
        kc = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=30)
            kc.execute(MARKER + "password = 'typed-in-a-cell'\n")
            await api.wait_session(kernel_id, lambda s: s["execution_count"] == 1)
            # (No websocket: the server learns the cell from its IOPub.)
            kc.execute(gated(CRASH, tmp_path / "go"))
            await go_when_running(api, kernel_id, tmp_path / "go")
            s = await api.wait_session(
                kernel_id, lambda s: s["process_id"] not in (None, before["process_id"]), 60
            )
        finally:
            kc.stop_channels()
        # The server kept the text...
        kept = registry.get(kernel_id).last_exit.last_words
        assert "Fatal Python error: Segmentation fault" in kept.text
        # ...which this reader is not shown: the fault, but no text, no code.
        words = s["last_exit"]["last_words"]
        assert words["text"] is None and words["why_null"] == "hidden"
        assert words["fault"]["signal"] == "SIGSEGV" and words["fault"]["line"] == 5
        assert words["fault"]["code_line"] is None and "`" not in words["summary"]
        for answer in (s, await api.get("api", "active-sessions")):
            assert "MARKER-5f1e" not in json.dumps(answer)
            assert "Fatal Python error" not in json.dumps(answer)
        await poll(lambda: api.session(kernel_id), ready)
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id)
        record = await api.ended_record(kernel_id)
        assert record["last_words"]["text"] is None
        assert record["last_words"]["why_null"] == "hidden"


@pytest.fixture
def own_fault_handler_kernelspec(jp_data_dir):
    """A Python kernelspec that sets the fault handler's variables itself."""
    env = {"PYTHONFAULTHANDLER": "", "PYTHONSTARTUP": os.devnull}
    return kernelspec(jp_data_dir, "own-handler", env=env, display_name="Own handler")


async def test_the_fault_handler_is_on_unless_the_kernelspec_says(
    api, own_fault_handler_kernelspec
):
    from jupyter_session_ext.lifecycle.kernel_output import FAULT_HANDLER_STARTUP

    ours = await api.wait_session(await api.start_kernel(), ready)
    assert ours["initial_env"]["PYTHONFAULTHANDLER"] == "1"
    assert ours["initial_env"]["PYTHONSTARTUP"] == FAULT_HANDLER_STARTUP
    code, model = await api.call(
        "POST", "api", "kernels", body={"name": own_fault_handler_kernelspec}
    )
    assert code == 201
    theirs = await api.wait_session(model["id"], ready)
    assert theirs["initial_env"]["PYTHONFAULTHANDLER"] == ""
    assert theirs["initial_env"]["PYTHONSTARTUP"] == os.devnull


class TestFaultHandlerOff:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {**jp_server_config, "KernelOutput": {"fault_handler": False}}

    async def test_no_variable_is_set(self, api):
        s = await api.wait_session(await api.start_kernel(), ready)
        assert "PYTHONFAULTHANDLER" not in s["initial_env"]
        assert "PYTHONSTARTUP" not in s["initial_env"]
