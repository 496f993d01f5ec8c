"""Timestamps as jupyter_server writes them: aware UTC datetimes, shown as
ISO 8601 with a `Z`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache, partial
from typing import Any

from ..untrusted import date

# Now, aware, in UTC: read several times per kernel message, so a C-level
# partial rather than a Python function around datetime.now.
utcnow: Callable[[], datetime] = partial(datetime.now, timezone.utc)


# Remembered: a list of 100 kernels writes the same last_activity of each on
# every read (it changes with activity only), at 2 µs a time.
@lru_cache(maxsize=4096)
def isoformat(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as jupyter_server writes its timestamps."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_date(value: Any) -> datetime | None:
    """A date from outside (a kernel's header, a stored row, a user's
    server): aware UTC between 1970 and 2200, else None (never an error)."""
    return date(value)
