"""A kernel's ActiveSession as JSON text, kept as of its last visible change:
the list route answers from it (serialize.py makes the document)."""

from __future__ import annotations

import json
import secrets
import weakref
from typing import Any, NamedTuple

from ..state.record import TrackedKernel
from ..state.timestamps import isoformat
from .serialize import SessionSource, active_session, culling, resource_usage

# Most of a session's JSON only changes with a visible change, which bumps
# `tracked.revision`: it is encoded once per revision, cut where the volatile
# values go, and each answer only fills those in (benchmarks/run.py, "scale",
# measures the list against api/kernels). The random marker cannot be sent
# by a client or a kernel (and the cut is counted; a miscount falls back to
# a plain encoding).
_VOLATILE = f"\x00volatile {secrets.token_hex(16)}"
_VOLATILE_JSON = json.dumps(_VOLATILE)
_VOLATILE_FIELDS = 5  # idle_seconds, busy_seconds, last_activity, resource_usage, culling


class _Encoded(NamedTuple):
    key: tuple[Any, ...]
    pieces: list[str]
    usage: Any  # the ResourceUsage last encoded, and its text
    usage_json: str


class SessionEncoder:
    """ActiveSessions as JSON text, each kernel's kept as of its last visible
    change (see above), for readers who may see what kernels run (`reveal`)
    or for those who may not. Reads `tracked.bound`: call after the registry
    refreshed the Jupyter sessions bound to the kernels."""

    def __init__(self, source: SessionSource, root_dir: str, reveal: bool = True) -> None:
        self.source = source
        self.root_dir = root_dir
        self.reveal = reveal
        self._encoded: weakref.WeakKeyDictionary[TrackedKernel, _Encoded] = (
            weakref.WeakKeyDictionary()
        )

    def session(self, tracked: TrackedKernel) -> str:
        state = tracked.state
        # The revision, and a few cheap reads that are also covered by it, so
        # that a change that forgot its event still shows.
        key = (
            tracked.revision,
            self.source.connections(tracked.kernel_id),
            state.status,
            state.queue.version,
            state.execution_count,
            tracked.working_directory,
        )
        cached = self._encoded.get(tracked)
        if cached is None or cached.key != key:
            document = active_session(
                self.source, tracked, self.root_dir, volatile=_VOLATILE, reveal=self.reveal
            )
            pieces = json.dumps(document).split(_VOLATILE_JSON)
            if len(pieces) != _VOLATILE_FIELDS + 1:
                return json.dumps(
                    active_session(self.source, tracked, self.root_dir, reveal=self.reveal)
                )
            cached = _Encoded(key, pieces, None, "null")
        usage = tracked.resource_usage
        if usage is not cached.usage:  # the sampler replaces it; it never mutates it
            cached = cached._replace(usage=usage, usage_json=json.dumps(resource_usage(usage)))
        self._encoded[tracked] = cached
        activity = isoformat(tracked.last_activity())
        info = culling(self.source.culling_info(tracked))
        p = cached.pieces
        return "".join(
            (
                p[0],
                str(state.idle_seconds()),
                p[1],
                str(state.busy_seconds()),
                p[2],
                "null" if activity is None else f'"{activity}"',
                p[3],
                cached.usage_json,
                p[4],
                "null" if info is None else json.dumps(info),
                p[5],
            )
        )

    def session_list(self, kernels: list[TrackedKernel]) -> str:
        """The list route's answer."""
        sessions = [self.session(t) for t in kernels]
        return f'{{"total": {len(sessions)}, "sessions": [{", ".join(sessions)}]}}'
