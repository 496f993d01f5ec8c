"""The fleet as Prometheus metrics, a label per user and server, so the
admin's Grafana can graph every user's kernels. Built from one gathered
view per scrape, in a registry of its own (nothing kept between scrapes:
a user whose server stopped is simply absent from the next one).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "jupyter_fleet"


class ViewCollector(Collector):
    def __init__(self, view: dict[str, Any]) -> None:
        self.view = view

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["user", "server_name"]
        up = GaugeMetricFamily(
            f"{PREFIX}_server_up",
            "1 if the user's server answered within the deadline, else 0.",
            labels=labels,
        )
        kernels = GaugeMetricFamily(
            f"{PREFIX}_kernels", "Kernels by status.", labels=[*labels, "status"]
        )
        memory = GaugeMetricFamily(
            f"{PREFIX}_memory_bytes",
            "Memory of the server's kernels and their children.",
            labels=labels,
        )
        cpu = GaugeMetricFamily(
            f"{PREFIX}_cpu_percent", "CPU of the server's kernels (100 = one core).", labels=labels
        )
        idle = GaugeMetricFamily(
            f"{PREFIX}_max_idle_seconds",
            "How long the server's longest-idle kernel has been idle.",
            labels=labels,
        )
        ended = GaugeMetricFamily(
            f"{PREFIX}_ended_kernels",
            "Kernels that ended lately (within the server's "
            "ended_retention), by reason; killed: a signal the server "
            "did not send, such as the OOM killer's.",
            labels=[*labels, "reason"],
        )
        for server in self.view["servers"]:
            values = [server["user"], server["server_name"]]
            summary = server["summary"]
            up.add_metric(values, 1 if server["reachable"] else 0)
            if not server["reachable"]:
                continue  # no figures rather than zeros that look measured
            for status, count in sorted(summary["by_status"].items()):
                kernels.add_metric([*values, status], count)
            memory.add_metric(values, summary["memory_bytes"])
            cpu.add_metric(values, summary["cpu_percent"])
            idle.add_metric(values, summary["max_idle_seconds"])
            for reason, count in sorted(summary["ended_by_reason"].items()):
                ended.add_metric([*values, reason], count)
        killed = GaugeMetricFamily(
            f"{PREFIX}_killed_kernels",
            "Kernels whose process was killed by a signal the server "
            "did not send (kill -9, a crash; not the OOM killer's): ended, "
            "or restarted after it.",
            labels=labels,
        )
        oom = GaugeMetricFamily(
            f"{PREFIX}_oom_kernels",
            "Kernels the out-of-memory killer ended lately: gone, or restarted after it.",
            labels=labels,
        )
        limit = GaugeMetricFamily(
            f"{PREFIX}_memory_limit_bytes",
            "The server's memory limit (its cgroup, MEM_LIMIT, its setting or the host).",
            labels=labels,
        )
        used = GaugeMetricFamily(
            f"{PREFIX}_memory_used_bytes", "Memory the server uses against it.", labels=labels
        )
        for server in self.view["servers"]:
            if server["reachable"]:
                values = [server["user"], server["server_name"]]
                summary = server["summary"]
                killed.add_metric(values, summary["killed"])
                oom.add_metric(values, summary["oom"])
                if summary["memory_limit_bytes"] is not None:
                    limit.add_metric(values, summary["memory_limit_bytes"])
                if summary["memory_used_bytes"] is not None:
                    used.add_metric(values, summary["memory_used_bytes"])
        gathered = GaugeMetricFamily(
            f"{PREFIX}_gather_seconds", "How long this scrape's gathering of every server took."
        )
        gathered.add_metric([], self.view["gathered_ms"] / 1000)
        yield from (up, kernels, memory, cpu, idle, ended, killed, oom, limit, used, gathered)


def exposition(view: dict[str, Any]) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ViewCollector(view))
    return generate_latest(registry), CONTENT_TYPE_LATEST
