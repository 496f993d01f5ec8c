"""Server for the browser tests: Galata's test setup (token-less, throwaway
root and workspaces) on port 8899, with this extension enabled as installed."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = 8899  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# A kernel's ports are chosen, then bound by the kernel a moment later; a
# connection made in between can take one ("Address already in use"). With
# ports cached (jupyter_client's default), every restart retries the same
# ports and the kernel dies; uncached, its restarter picks new ones. Seen in
# CI with 30 kernels starting at once; stock jupyter_server does it too.
c.KernelManager.cache_ports = False  # noqa: F821
# Resource figures in the details view come quickly.
c.SessionRegistry.resource_sampling_interval = 1.0  # noqa: F821
# Kernels with their own idle timeout are checked every second (server
# culling itself stays off: tests keep kernels idle for a while).
c.MappingKernelManager.cull_interval = 1  # noqa: F821
