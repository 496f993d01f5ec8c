"""A second server for the browser tests: jupyter_server's own culler takes
kernels idle for 5 s (checked every second). Only server_culling.spec.ts
runs against it, so no other test's kernels are culled."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = 8900  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# A kernel's ports are chosen, then bound by the kernel a moment later; a
# connection made in between can take one ("Address already in use"). With
# ports cached (jupyter_client's default), every restart retries the same
# ports and the kernel dies; uncached, its restarter picks new ones. Seen in
# CI with 30 kernels starting at once; stock jupyter_server does it too.
c.KernelManager.cache_ports = False  # noqa: F821
c.MappingKernelManager.cull_idle_timeout = 5  # noqa: F821
c.MappingKernelManager.cull_interval = 1  # noqa: F821
