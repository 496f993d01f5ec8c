"""What listens to one kernel while the tracker follows it: its kernel
manager, the IOPub observer of its current process, the kernel_info request
in flight and the shell streams it opened, and the process handle and
restart callback jupyter_client gave us. The kernel's state is not here
(`state/record.py`): this is what must be closed when the process changes
or the kernel goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import server_hooks
from ..state.last_words import NOT_CAPTURED_WORDS, REMOTE_WORDS, LastWords
from ..state.queue import QueueEntry
from ..traffic.iopub import IOPubObserver, on_current_ports
from ..traffic.kernel_info import kernel_info_when_live
from . import process as kernel_process
from .kernel_output import captured


def read_published(channels: Mapping[str, KernelChannels], kernel_id: str) -> None:
    """Read now what the kernel published that we have not read yet."""
    found = channels.get(kernel_id)
    if found is not None and found.iopub is not None:
        found.iopub.drain()


class KernelChannels:
    def __init__(self, km: Any) -> None:
        self.km = km
        self.remote = kernel_process.is_remote(km)
        self.iopub: IOPubObserver | None = None
        self.kernel_info_task: asyncio.Task[None] | None = None
        # The shell streams of kernel_info requests in flight (see `close`).
        self.kernel_info_streams: set[Any] = set()
        # The current process, for how it ended and what it wrote.
        self.popen: Any = None
        # Given to the kernel manager's restarter (tracker.py), to take back.
        self.restart_callback: Callable[[], None] | None = None

    def exit_status(self) -> tuple[int | None, int | None] | None:
        """How the current process ended; None while it runs (or unknown)."""
        return kernel_process.exit_status(self.popen) if self.popen is not None else None

    def last_words(
        self,
        exit_code: int | None,
        signal: int | None,
        running: QueueEntry | None,
        candidates: Iterable[QueueEntry],
    ) -> LastWords:
        """What the current process wrote last (once it ended)."""
        if self.remote:
            return REMOTE_WORDS
        output = captured(self.popen)
        if output is None:
            return NOT_CAPTURED_WORDS
        return output.words(exit_code, signal, running, candidates)

    def listen(self, on_message: Callable[[Any], None], log: logging.Logger) -> None:
        """Observe the current process's IOPub from now on."""
        self.iopub = IOPubObserver(self.km, on_message, log)

    def ask_kernel_info(
        self,
        timeout: float,
        answered: Callable[[dict[str, Any]], None],
        silent: Callable[[], None],
        log: logging.Logger,
        kernel_id: str,
    ) -> None:
        """Ask the current process for kernel_info until it answers and IOPub
        is live (unless a request is in flight): `answered(content)`, or
        `silent()` if it did not answer within `timeout`."""
        if self.kernel_info_task is not None and not self.kernel_info_task.done():
            return
        self.kernel_info_task = asyncio.ensure_future(
            self._kernel_info(timeout, answered, silent, log, kernel_id)
        )

    async def _kernel_info(
        self,
        timeout: float,
        answered: Callable[[dict[str, Any]], None],
        silent: Callable[[], None],
        log: logging.Logger,
        kernel_id: str,
    ) -> None:
        try:
            # Ready only once IOPub is live too: an execution whose busy and
            # execute_input were published before would be missed.
            content = await kernel_info_when_live(
                self.km, self.iopub, timeout, in_flight=self.kernel_info_streams
            )
        except (TimeoutError, asyncio.TimeoutError):
            silent()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "Active sessions: kernel_info request to %s failed", kernel_id, exc_info=True
            )
            return
        answered(content)

    def rewatch_if_stale(self, kernel_manager: Any, kernel_id: str, log: logging.Logger) -> None:
        """A kernel jupyter_client's restarter brought back on new ports:
        jupyter_server's activity watcher still listens on the old ones (it
        re-watches only after restarts it was asked for), so its culler,
        `api/kernels` and its websockets' nudge would see no activity from the
        new process. Re-watch, as jupyter_server does after those restarts;
        the tracker's hook then puts us on the new watcher."""
        stream = server_hooks.activity_stream(self.km)
        if (
            stream is None
            or stream.closed()
            or on_current_ports(self.km, stream)
            # a restart the server was asked for: it re-watches itself
            or server_hooks.restart_pending(self.km)
            or not hasattr(kernel_manager, "stop_watching_activity")
        ):
            return
        log.info("Active sessions: kernel %s came back on new ports; watching it there", kernel_id)
        try:
            server_hooks.rewatch(kernel_manager, kernel_id)
        except Exception:
            log.warning(
                "Active sessions: cannot watch kernel %s on its new ports", kernel_id, exc_info=True
            )

    def close(self) -> None:
        """Stop listening to the kernel: IOPub, and a kernel_info in flight."""
        if self.iopub is not None:
            self.iopub.close()
            self.iopub = None
        task, self.kernel_info_task = self.kernel_info_task, None
        if task is not None and not task.done():
            task.cancel()
        # Now, not when the cancelled task next runs: by then the kernel
        # manager may have closed the socket under the stream (see
        # traffic/kernel_info.request_kernel_info).
        for stream in list(self.kernel_info_streams):
            if not stream.closed():
                stream.close()
        self.kernel_info_streams.clear()
