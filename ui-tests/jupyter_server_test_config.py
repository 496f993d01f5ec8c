"""Server for the browser tests: Galata's test setup (token-less, throwaway
root and workspaces) on port 8899, with this extension enabled as installed."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = 8899  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# Galata removes each test's folder when it ends: removed, not moved into the
# user's desktop trash (~/.local/share/Trash), where send2trash puts it; with
# what it does not list (hidden files) in it too.
c.FileContentsManager.delete_to_trash = False  # noqa: F821
c.FileContentsManager.always_delete_dir = True  # noqa: F821
# Kernels on Unix sockets, not TCP ports. With dozens of kernels starting at
# once, a port jupyter_client chose can be taken by another connection before
# the kernel binds it ("Address already in use"); with ports cached (the
# default) every restart retries the same ports and the kernel is removed, and
# now and then ipykernel hangs instead of exiting (alive, never answering).
# Seen in CI and here; stock jupyter_server has the same collisions (README,
# "For admins").
c.KernelManager.transport = "ipc"  # noqa: F821
# Resource figures in the details view come quickly.
c.SessionRegistry.resource_sampling_interval = 1.0  # noqa: F821
# Kernels with their own idle timeout are checked every second (server
# culling itself stays off: tests keep kernels idle for a while).
c.MappingKernelManager.cull_interval = 1  # noqa: F821
# A store of its own for each run: kernels ended in an earlier run must not
# show under "Recently ended" (the store's own tests restart servers on one).
import tempfile  # noqa: E402

c.SessionStore.path = tempfile.mkdtemp(prefix="galata-store-") + "/active_sessions.db"  # noqa: F821
