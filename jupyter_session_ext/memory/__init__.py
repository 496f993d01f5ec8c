"""Memory against the real limit: process trees and what they use
(`processes.py`), the server's memory cgroup (`cgroup.py`), and where the
limit comes from, the warning before it and OOM kills told apart
(`limits.py`). Reads the operating system; holds no kernel's state."""
