"""Prometheus metrics of the active sessions, on the server's own `/metrics`.

A collector reads the registry when Prometheus scrapes, so nothing is counted
or updated on the path of kernel messages. Registered with prometheus_client's
default registry (the one jupyter_server's /metrics serves) and removed when
the extension stops.

jupyter_server serves `/metrics` to any logged-in user (or to anyone, with
`ServerApp.authenticate_prometheus = False`) without asking its Authorizer,
and renders prometheus_client's registry with no request at hand: a collector
cannot know who scrapes. So series that name a kernel (its id, its kernel
name) are off unless the operator turns them on (`SessionMetrics.per_kernel`);
server-wide figures are always there.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any, Protocol

import prometheus_client
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from traitlets import Bool
from traitlets.config import Configurable, LoggingConfigurable

from ..lifecycle.culling import CullingInfo
from ..memory.limits import MemoryWatch
from ..state.kernel_state import STATUSES
from ..state.record import TrackedKernel


class _Ended(Protocol):
    counts: Counter[tuple[str, bool]]


class Registry(Protocol):
    """What the metrics read of the registry (registry.SessionRegistry)."""

    @property
    def ended(self) -> _Ended: ...

    @property
    def memory(self) -> MemoryWatch: ...

    def snapshot(self) -> list[TrackedKernel]: ...
    def culling_info(self, tracked: TrackedKernel) -> CullingInfo | None: ...


PREFIX = "jupyter_active_sessions"
KERNEL_LABELS = ["session_id", "kernel_name"]


class SessionMetrics(LoggingConfigurable):
    """What the extension adds to the server's `/metrics`."""

    per_kernel = Bool(
        False,
        help="""Add series per kernel, labelled with its id and kernel name (queue
        length, busy and idle seconds, executions, restarts, cull countdown,
        memory). jupyter_server serves /metrics to every logged-in user (to
        anyone with ServerApp.authenticate_prometheus = False) without asking
        its Authorizer, so these would show kernels to users the Authorizer
        keeps from reading them. Turn on only where whoever may reach /metrics
        may see every kernel. Server-wide totals are there either way.""",
    ).tag(config=True)


class SessionsCollector(Collector):
    def __init__(self, registry: Registry, settings: SessionMetrics | None = None) -> None:
        self.registry = registry
        self.settings = settings if settings is not None else SessionMetrics()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        tracked = self.registry.snapshot()
        yield from self._server(tracked)
        if self.settings.per_kernel:
            yield from self._per_kernel(tracked)
        yield from self._memory(tracked)

    def _server(self, tracked: list[TrackedKernel]) -> Iterator[Any]:
        """Figures of the whole server: no kernel is named."""
        by_status = GaugeMetricFamily(
            f"{PREFIX}_sessions", "Active sessions (kernels) by status.", labels=["status"]
        )
        for status in STATUSES:
            by_status.add_metric([status], sum(1 for t in tracked if t.state.status == status))
        queued = GaugeMetricFamily(
            f"{PREFIX}_queued_executions",
            "Executions waiting behind the running ones, all kernels together.",
        )
        queued.add_metric([], sum(len(t.state.queue) for t in tracked))
        busy = GaugeMetricFamily(
            f"{PREFIX}_busy_kernel_seconds",
            "Seconds each busy kernel has been busy, added up over the kernels.",
        )
        busy.add_metric([], sum(t.state.busy_seconds() for t in tracked))
        ended = CounterMetricFamily(
            f"{PREFIX}_ended",
            "Kernels that ended since the server started, by reason (shutdown, culled, "
            "exited, killed, oom, server_stopped, server_lost); forced: the kill route.",
            labels=["reason", "forced"],
        )
        for (reason, forced), count in sorted(self.registry.ended.counts.items()):
            ended.add_metric([reason, "true" if forced else "false"], count)
        yield from (by_status, queued, busy, ended)

    def _per_kernel(self, tracked: list[TrackedKernel]) -> Iterator[Any]:
        """Series labelled with each kernel's id and kernel name."""
        queue = GaugeMetricFamily(
            f"{PREFIX}_queue_length",
            "Executions waiting behind the running one.",
            labels=KERNEL_LABELS,
        )
        busy = GaugeMetricFamily(
            f"{PREFIX}_busy_seconds",
            "Seconds the session has been busy (0 if not busy).",
            labels=KERNEL_LABELS,
        )
        idle = GaugeMetricFamily(
            f"{PREFIX}_idle_seconds",
            "Seconds the session has been idle (0 if busy).",
            labels=KERNEL_LABELS,
        )
        executions = CounterMetricFamily(
            f"{PREFIX}_executions",
            "Executions the kernel started (all clients).",
            labels=KERNEL_LABELS,
        )
        restarts = CounterMetricFamily(
            f"{PREFIX}_restarts",
            "Restarts of the kernel since it was first started.",
            labels=KERNEL_LABELS,
        )
        cull_left = GaugeMetricFamily(
            f"{PREFIX}_cull_seconds_left",
            "Seconds until an idle kernel may be culled (kernels that culling will "
            "take and whose state allows it now).",
            labels=KERNEL_LABELS,
        )
        memory = GaugeMetricFamily(
            f"{PREFIX}_kernel_memory_bytes",
            "A kernel's memory (process and children) at its last sample.",
            labels=KERNEL_LABELS,
        )
        for t in tracked:
            values = [t.kernel_id, t.kernel_name]
            queue.add_metric(values, len(t.state.queue))
            busy.add_metric(values, t.state.busy_seconds())
            idle.add_metric(values, t.state.idle_seconds())
            executions.add_metric(values, t.state.executions)
            restarts.add_metric(values, t.restart_count)
            culling = self.registry.culling_info(t)
            if culling is not None and culling.seconds_left is not None:
                cull_left.add_metric(values, culling.seconds_left)
            if t.resource_usage is not None:
                memory.add_metric(values, t.resource_usage.memory_bytes)
        yield from (queue, busy, idle, executions, restarts, cull_left, memory)

    def _memory(self, tracked: list[TrackedKernel]) -> Iterator[Any]:
        watch = self.registry.memory
        reading = watch.reading
        labels = ["source"]
        source = [reading.source if reading is not None else "none"]
        limit = GaugeMetricFamily(
            f"{PREFIX}_memory_limit_bytes",
            "The memory the server and its kernels may use (source: cgroup, env, config, host).",
            labels=labels,
        )
        used = GaugeMetricFamily(
            f"{PREFIX}_memory_used_bytes", "Memory used against that limit.", labels=labels
        )
        if reading is not None and reading.limit_bytes is not None:
            limit.add_metric(source, reading.limit_bytes)
        if reading is not None and reading.used_bytes is not None:
            used.add_metric(source, reading.used_bytes)
        kernels = GaugeMetricFamily(
            f"{PREFIX}_kernels_memory_bytes",
            "The kernels' memory (processes and children) at their last samples, added up.",
        )
        kernels.add_metric(
            [], sum(t.resource_usage.memory_bytes for t in tracked if t.resource_usage is not None)
        )
        oom = CounterMetricFamily(
            f"{PREFIX}_oom_kills",
            "Kernel processes the out-of-memory killer ended (restarted or not).",
        )
        oom.add_metric([], watch.oom_kills_claimed)
        yield from (limit, used, kernels, oom)


_registered: SessionsCollector | None = None


def register(registry: Registry, log: logging.Logger) -> SessionsCollector | None:
    """Serve `registry`'s metrics. One server, one set of metric names: a
    collector left by an earlier app in this process is replaced. Metrics are
    not worth failing the extension for: a clash is logged, and None returned."""
    global _registered
    if _registered is not None:
        if _registered.registry is registry:
            return _registered
        unregister(_registered)
    # The registry's config is the server's: `c.SessionMetrics` reaches it.
    parent = registry if isinstance(registry, Configurable) else None
    collector = SessionsCollector(registry, SessionMetrics(parent=parent))
    try:
        prometheus_client.REGISTRY.register(collector)
    except ValueError as err:  # the names are taken by someone else's collector
        log.warning("Active sessions: no Prometheus metrics: %s", err)
        return None
    _registered = collector
    return collector


def unregister(collector: SessionsCollector) -> None:
    global _registered
    try:
        prometheus_client.REGISTRY.unregister(collector)
    except KeyError:
        pass
    if _registered is collector:
        _registered = None


def unregister_registry(registry: Registry) -> None:
    """Take back the metrics of `registry`, if they are served."""
    if _registered is not None and _registered.registry is registry:
        unregister(_registered)
