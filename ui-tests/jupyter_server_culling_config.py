"""A second server for the browser tests: jupyter_server's own culler takes
kernels idle for 5 s (checked every second). Only server_culling.spec.ts
runs against it, so no other test's kernels are culled."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = 8900  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.FileContentsManager.delete_to_trash = False  # noqa: F821 (see jupyter_server_test_config.py)
c.FileContentsManager.always_delete_dir = True  # noqa: F821
c.MappingKernelManager.cull_idle_timeout = 5  # noqa: F821
c.MappingKernelManager.cull_interval = 1  # noqa: F821
