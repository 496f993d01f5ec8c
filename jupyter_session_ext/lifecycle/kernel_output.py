"""A kernel's last words: each local kernel's stdout and stderr captured as
jupyter_client launches it (server_hooks.KernelLaunchHook), copied through
to the server's own and their tail kept (output_reader.py), and Python's
fault handler on in Python kernels, so that a process that dies says why.

What a process wrote is its own: when it ended, the tail is decoded, cut
to whole lines, read for a fault (state/last_words.py), stripped of the
credentials it shows (redaction.py) and escaped; it is shown only to who
may see what kernels run (api/serialize.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from traitlets import Bool, Integer, TraitError, validate
from traitlets.config import LoggingConfigurable

from .. import server_hooks
from ..state.last_words import LastWords, fault_of
from ..state.queue import QueueEntry
from ..untrusted import printable_lines
from . import process as kernel_process
from .output_reader import OutputReader, Tail
from .redaction import redact_value

FAULT_HANDLER_STARTUP = str(Path(__file__).parents[1] / "in_kernel" / "fault_handler.py")
STREAMS = (("stdout", 1), ("stderr", 2))

# Each captured process's output, by its Popen (what the kernel's channels
# hold: channels.py asks here once it ended).
_captured: WeakKeyDictionary[Any, CapturedOutput] = WeakKeyDictionary()


def captured(popen: Any) -> CapturedOutput | None:
    """What the process of `popen` wrote, if it was captured."""
    return _captured.get(popen) if popen is not None else None


class KernelOutput(LoggingConfigurable):
    capture = Bool(
        True,
        help="""Capture each local kernel's stdout and stderr as it is launched:
        every byte is still copied to the server's own stdout and stderr (its
        terminal, its log), and the last of it is kept, to say why a kernel
        ended (`last_words` of `last_exit` and of ended kernels). False
        launches kernels on the server's streams, as Jupyter does alone.
        Applies to kernels launched after a change.""",
    ).tag(config=True)

    tail_bytes = Integer(
        65536,
        help="""At most this many bytes of what each kernel process wrote last
        are kept (memory: up to twice that while it runs).""",
    ).tag(config=True)

    tail_lines = Integer(
        200, help="At most this many lines of what each kernel process wrote last are kept."
    ).tag(config=True)

    fault_handler = Bool(
        True,
        help="""Turn Python's fault handler on in Python kernels
        (PYTHONFAULTHANDLER=1 in their environment, unless it is set already,
        and PYTHONSTARTUP, when unset, to a file that points the handler past
        ipykernel's own capture of fd 2): a segmentation fault, an abort or a
        fatal error then writes a traceback of every thread, which says the
        cell and the line it died in. Applies to kernels launched after a
        change.""",
    ).tag(config=True)

    @validate("tail_bytes", "tail_lines")
    def _check_positive(self, proposal: Any) -> int:
        if proposal.value < 1:
            raise TraitError(f"KernelOutput.{proposal.trait.name} must be 1 or more.")
        return int(proposal.value)

    def __init__(self, secret_names: Callable[[], re.Pattern[str] | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._secret_names = secret_names
        self.reader = OutputReader(self.log)
        self._hook: server_hooks.KernelLaunchHook | None = None

    def install(self, kernel_manager: Any) -> None:
        if self._hook is None:
            self._hook = server_hooks.KernelLaunchHook(kernel_manager, self._launching)

    def uninstall(self) -> None:
        if self._hook is not None:
            self._hook.uninstall()
            self._hook = None
        self.reader.close()

    # -- at each launch -------------------------------------------------------------

    def _launching(self, km: Any, kw: dict[str, Any]) -> Callable[[Any], None] | None:
        try:
            self._fault_handler_env(km, kw)
        except Exception:
            self.log.exception("Active sessions: cannot set the fault handler of a kernel")
        if not self.capture or os.name != "posix":
            return None
        if not server_hooks.popen_arguments_reach_the_process(km):
            return None
        pipes: list[tuple[str, int, int, int]] = []  # (stream, read end, write end, target)
        try:
            for name, target in STREAMS:
                if kw.get(name) is None:  # (a stream someone else chose stays theirs)
                    read, write = os.pipe()
                    pipes.append((name, read, write, target))
                    kw[name] = write
        except OSError:  # out of file descriptors: launched as Jupyter would
            self.log.warning("Active sessions: cannot capture a kernel's output", exc_info=True)
            for name, read, write, _ in pipes:
                os.close(read)
                os.close(write)
                kw[name] = None
            return None
        tail = Tail(self.tail_bytes)

        def launched(popen: Any) -> None:
            for _, read, write, target in pipes:
                os.close(write)  # the process has its own: its end is the pipe's
                if popen is None:
                    os.close(read)
                else:
                    self.reader.watch(tail, read, target)
            if popen is not None:
                _captured[popen] = CapturedOutput(self, tail)

        return launched

    def _fault_handler_env(self, km: Any, kw: dict[str, Any]) -> None:
        env = kw.get("env")
        if not self.fault_handler or not isinstance(env, dict):
            return
        if kernel_process.spec_facts(km).language.lower() != "python":
            return
        env = dict(env)
        # Set by the kernelspec, the client or the server's environment: theirs.
        env.setdefault("PYTHONFAULTHANDLER", "1")
        env.setdefault("PYTHONSTARTUP", FAULT_HANDLER_STARTUP)
        kw["env"] = env

    # -- once a process ended ---------------------------------------------------------

    def words(
        self,
        tail: Tail,
        exit_code: int | None,
        signal: int | None,
        running: QueueEntry | None,
        candidates: Iterable[QueueEntry],
    ) -> LastWords:
        self.reader.drain(tail)
        data, truncated = tail.snapshot()
        text = data.decode("utf-8", "replace")
        if truncated:
            text = text[text.find("\n") + 1 :]  # from the first whole line
        lines = text.splitlines(keepends=True)
        if len(lines) > self.tail_lines:
            text, truncated = "".join(lines[-self.tail_lines :]), True
        fault = fault_of(text, exit_code, signal, running, candidates)
        shown = printable_lines(redact_value(text, self._secret_names()), self.tail_bytes)
        return LastWords(shown, truncated, fault)


class CapturedOutput:
    """One process's captured output, as the tracker holds it."""

    def __init__(self, output: KernelOutput, tail: Tail) -> None:
        self._output, self.tail = output, tail

    def words(
        self,
        exit_code: int | None,
        signal: int | None,
        running: QueueEntry | None,
        candidates: Iterable[QueueEntry],
    ) -> LastWords:
        return self._output.words(self.tail, exit_code, signal, running, candidates)
