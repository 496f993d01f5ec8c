"""The server of memory.spec.ts (started by memory_server.py inside a
memory cgroup): kernels sampled every second, and a kernel the OOM killer
ends is not restarted, so it shows under "Recently ended"."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = 8901  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.FileContentsManager.delete_to_trash = False  # noqa: F821 (see jupyter_server_test_config.py)
c.FileContentsManager.always_delete_dir = True  # noqa: F821
c.KernelManager.transport = "ipc"  # noqa: F821 (see jupyter_server_test_config.py)
# A kernel found dead is not restarted: jupyter_server removes it at once.
c.KernelRestarter.restart_limit = 0  # noqa: F821
c.SessionRegistry.resource_sampling_interval = 1.0  # noqa: F821
import tempfile  # noqa: E402

c.SessionStore.path = tempfile.mkdtemp(prefix="galata-store-") + "/active_sessions.db"  # noqa: F821
