"""The kernel_info request the tracker sends each new kernel process on a
shell socket of its own, until the kernel answers and its IOPub is live.

It is the extension's own request (own_requests.py): the kernel's statuses
for it move nothing jupyter_server reports of the kernel."""

from __future__ import annotations

import asyncio
from typing import Any

from .iopub import IOPubObserver, signing_session
from .own_requests import OWN_SESSION


async def kernel_info_when_live(
    km: Any,
    iopub: IOPubObserver | None,
    timeout: float,
    nudge_every: float = 0.25,
    in_flight: set[Any] | None = None,
) -> dict[str, Any]:
    """kernel_info's reply, once `iopub` has carried the kernel's idle for
    one of these requests too: the kernel publishes a status for every
    kernel_info_request, so asking again until one comes through proves the
    subscription sees what the kernel publishes (as jupyter_server's
    websocket `nudge` does for its clients), and that what it published
    before answering has been read, by the server's watcher and by us: a
    record ready is one whose IOPub is read up to there.

    Raises TimeoutError if the kernel does not answer in `timeout` seconds;
    answers without a live IOPub after `timeout` (nothing better will come).
    A kernel that answers has been started: if the server's activity watcher
    has not come for `iopub` to tap by then, it never will (a kernel manager
    without one), and `iopub` subscribes itself.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if iopub is not None:
        iopub.own_answered.clear()
    content = await request_kernel_info(km, timeout, in_flight)
    if iopub is not None and not iopub.has_source:
        iopub.subscribe()
    while iopub is not None and not iopub.own_answered.is_set():
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            await asyncio.wait_for(iopub.own_answered.wait(), min(nudge_every, left))
        except (TimeoutError, asyncio.TimeoutError):
            content = await request_kernel_info(km, max(left, nudge_every), in_flight)
    return content


async def request_kernel_info(
    km: Any, timeout: float, in_flight: set[Any] | None = None
) -> dict[str, Any]:
    """Send `kernel_info_request` on a fresh shell socket and wait for the
    reply's content without blocking the event loop.

    The socket's stream is in `in_flight` while the request is: whoever
    stops following the kernel closes it at once (`KernelChannels.close`),
    before the kernel manager's shutdown can close the socket under it and
    leave its file descriptor registered in the event loop, where the next
    socket to get that number could not be added ("fd added twice").

    Raises TimeoutError if the kernel does not answer in `timeout` seconds.
    """
    session = signing_session(km, OWN_SESSION)
    stream = km.connect_shell()
    if in_flight is not None:
        in_flight.add(stream)
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[dict[str, Any]] = loop.create_future()

    def on_recv(msg_list: list[bytes]) -> None:
        if reply.done():
            return
        try:
            _idents, fed = session.feed_identities(msg_list)
            msg = session.deserialize(fed, content=True)
        except Exception as err:
            reply.set_exception(err)
            return
        if msg["header"].get("msg_type") == "kernel_info_reply":
            content = msg.get("content")
            reply.set_result(content if isinstance(content, dict) else {})

    try:
        stream.on_recv(on_recv)
        session.send(stream, "kernel_info_request")
        return await asyncio.wait_for(reply, timeout)
    finally:
        if in_flight is not None:
            in_flight.discard(stream)
        if not stream.closed():
            stream.close()
