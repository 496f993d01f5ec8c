"""Log lines about what came from outside: escaped, and rate-limited by
cause, so that a kernel or a client repeating the same bad message cannot
flood the server's log (or its disk) with a line, or a traceback, each."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


def printable(value: Any, limit: int = 200) -> str:
    """`value` for a log line or a terminal: capped, control and format
    characters escaped (a newline must not start a line of its own, an
    escape sequence must not drive the terminal)."""
    try:
        line = value if isinstance(value, str) else str(value)
    except Exception:  # a __str__ of a kernel's object that fails
        line = f"<{type(value).__name__}>"
    if len(line) > limit:
        line = line[:limit] + "…"
    if line.isprintable():
        return line
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line
    )


# Kept as they are in `printable_lines`: they are the text's own layout.
_LAYOUT = frozenset("\n\t")


class _Escapes(dict[int, str]):
    """str.translate's table for `printable_lines`, filled as characters are
    met: each character once through Python, then every occurrence in C
    (a character at a time in a generator took 430 ns each). Bounded: past
    _ESCAPES_MAX characters known, a new one is answered, not kept."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        shown = c if c.isprintable() or c in _LAYOUT else c.encode("unicode_escape").decode("ascii")
        if len(self) < _ESCAPES_MAX:
            self[code] = shown
        return shown


_ESCAPES_MAX = 4096
_ESCAPES = _Escapes()


def printable_lines(value: str, limit: int) -> str:
    """A multi-line text from outside (what a process wrote) for an answer,
    a log or a terminal: its last `limit` characters (a cut start marked
    "…"), control and format characters escaped but newlines and tabs (no
    escape sequence may drive a terminal, no carriage return overwrite a
    line, no bidirectional override reorder one)."""
    text = value if len(value) <= limit else "…" + value[len(value) - limit + 1 :]
    # Most lines are printable, and str.isprintable says so in C.
    if all(line.isprintable() for line in text.split("\n")):
        return text
    return text.translate(_ESCAPES)


class LogLimiter:
    """At most one log line per cause per `interval` seconds; the next one
    says how many were left out. A cause is a short constant naming what
    went wrong (never text from outside: there would be no end of them);
    what came from outside goes into the arguments, escaped by the caller
    with `printable`. Never a format string made of untrusted text: the
    message is a constant and `logging` formats it."""

    MAX_CAUSES = 256  # causes are constants; this only bounds a mistake

    def __init__(
        self,
        log: Callable[[], logging.Logger] | logging.Logger | None = None,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`log`: the logger (or a function that gives it); else each call
        names its own."""
        self._log = log
        self.interval = interval
        self._clock = clock
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()  # cause -> (when, left out)

    def __call__(
        self,
        level: int,
        cause: str,
        message: str,
        *args: Any,
        exc_info: bool = False,
        log: logging.Logger | None = None,
    ) -> bool:
        """Log `message % args` unless `cause` was logged within the
        interval; True when it was logged."""
        now = self._clock()
        last = self._last.get(cause)
        if last is not None and now - last[0] < self.interval:
            self._last[cause] = (last[0], last[1] + 1)
            return False
        self._last[cause] = (now, 0)
        self._last.move_to_end(cause)
        while len(self._last) > self.MAX_CAUSES:
            self._last.popitem(last=False)
        if last is not None and last[1]:
            message += " (and %d more like it in the %d s before, not logged)"
            args = (*args, last[1], round(now - last[0]))
        if log is None:
            log = (
                self._log
                if isinstance(self._log, logging.Logger) or self._log is None
                else self._log()
            )
        (log or logging.getLogger(__name__)).log(level, message, *args, exc_info=exc_info)
        return True

    def warning(self, cause: str, message: str, *args: Any, **kw: Any) -> bool:
        return self(logging.WARNING, cause, message, *args, **kw)

    def exception(self, cause: str, message: str, *args: Any, **kw: Any) -> bool:
        """An error with its traceback: once per cause per interval."""
        return self(logging.ERROR, cause, message, *args, exc_info=True, **kw)
