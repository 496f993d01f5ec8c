"""A kernel's ActiveSession as JSON text, kept as of its last visible change:
the list route answers from it (serialize.py makes the document)."""

from __future__ import annotations

import json
import logging
import secrets
import weakref
from typing import Any, NamedTuple

from ..state.record import TrackedKernel
from ..state.timestamps import isoformat
from ..untrusted import LogLimiter
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
_failures = LogLimiter(logging.getLogger("ServerApp"))


def _dumps(value: Any) -> str:
    """Strict JSON, as a browser's JSON.parse reads it: NaN and Infinity
    raise here rather than reach a client."""
    return json.dumps(value, allow_nan=False)


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
        self.skipped = 0  # sessions left out of a list because they could not be written

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
            pieces = _dumps(document).split(_VOLATILE_JSON)
            if len(pieces) != _VOLATILE_FIELDS + 1:
                return _dumps(
                    active_session(self.source, tracked, self.root_dir, reveal=self.reveal)
                )
            cached = _Encoded(key, pieces, None, "null")
        usage = tracked.resource_usage
        if usage is not cached.usage:  # the sampler replaces it; it never mutates it
            cached = cached._replace(usage=usage, usage_json=_dumps(resource_usage(usage)))
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
                "null" if info is None else _dumps(info),
                p[5],
            )
        )

    def session_list(self, kernels: list[TrackedKernel]) -> str:
        """The list route's answer. A session that cannot be written is left
        out (and counted in `skipped`, and logged once a minute): one
        kernel's record never fails the list of all of them."""
        sessions = []
        for tracked in kernels:
            try:
                sessions.append(self.session(tracked))
            except Exception:
                self.skipped += 1
                _failures.exception(
                    "encode", "Active sessions: left kernel %s out of the list", tracked.kernel_id
                )
        return f'{{"total": {len(sessions)}, "sessions": [{", ".join(sessions)}]}}'
