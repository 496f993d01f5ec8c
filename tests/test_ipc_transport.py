"""socket_path for kernels on the ipc transport (Unix sockets)."""

import glob
import os
import pathlib
import shutil
import stat
import tempfile

import pytest


@pytest.fixture
def jp_runtime_dir():
    # Unix socket paths are limited to ~107 bytes; pytest's tmp paths are longer.
    path = tempfile.mkdtemp(prefix="ipc", dir="/tmp")
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def jp_server_config(jp_server_config):
    return {**jp_server_config, "KernelManager": {"transport": "ipc"}}


async def test_socket_path_is_the_ipc_prefix(api):
    kernel_id = await api.start_kernel()
    s = await api.wait_session(kernel_id, lambda s: s["status"] == "ready")
    path = s["socket_path"]
    assert os.path.isabs(path)
    sockets = glob.glob(path + "-*")
    assert len(sockets) == 5  # shell, iopub, stdin, control, heartbeat
    assert all(stat.S_ISSOCK(os.stat(p).st_mode) for p in sockets)
