"""The server's Authorizer decides: resource `kernels`, read for GET, write
for everything else. A real server behind a read-only authorizer."""

from __future__ import annotations

import psutil
import pytest

from conftest import ready


class TestReadOnlyAuthorizer:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        server = {
            **jp_server_config["ServerApp"],
            "authorizer_class": "read_only_authorizer.ReadOnlyAuthorizer",
        }
        return {**jp_server_config, "ServerApp": server}

    async def test_reads_pass_and_every_write_is_refused(self, api, jp_serverapp):
        # Kernels are started behind the authorizer's back: it forbids that too.
        kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
        before = await api.wait_session(kernel_id, ready)
        assert (await api.get("api", "active-sessions", "status"))["sessions"] == 1
        writes = [
            ("PATCH", (kernel_id,), {"display_name": "mine now"}),
            ("POST", (kernel_id, "interrupt"), None),
            ("POST", (kernel_id, "restart"), None),
            ("DELETE", (kernel_id,), None),
        ]
        for method, tail, body in writes:
            code, data = await api.call(method, "api", "active-sessions", *tail, body=body)
            assert code == 403, (method, tail)
        after = await api.session(kernel_id)
        assert after["display_name"] == before["display_name"]
        assert after["process_id"] == before["process_id"] and after["restart_count"] == 0
        assert psutil.Process(after["process_id"]).is_running()
