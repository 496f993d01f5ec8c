"""Where kernel traffic is observed (2): the kernel websocket connection.

jupyter_server builds one connection object per websocket from the class in
`kernel_websocket_connection_class`. The extension installs a subclass of that
class which, besides doing its normal job, reports to the `MessageRouter`
(routing.py):

* client -> kernel: `execute_request` on shell as it is sent (pending), with
  the cell id JupyterLab puts in its metadata and the authenticated user;
  `input_reply` on stdin;
* kernel -> client: `execute_reply` on shell when it did not go ok (an ok
  reply says nothing IOPub does not), `input_request` on stdin;
* clients connecting and disconnecting.

It also sets TCP_NODELAY on the sockets it serves (`SessionRegistry.tcp_nodelay`):
with Nagle's algorithm and delayed ACKs, a short cell's reply waits ~40 ms.
Except while the kernel works through a run of queued cells: then every
message sent at once is a packet of its own, whose sending costs the server
more than the rest of its work on the message, and Nagle's algorithm
gathers them; the socket is set back as the run ends, which sends what it
held (`_pace`).

IOPub is not read here (`iopub.py` sees it for every client). Only
shell and stdin messages are looked at, and a cheap byte test comes before any
parsing, so the extra cost per message stays small. Observation never raises
into the connection: a failure is logged and the message goes through as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_server.gateway.connections import GatewayWebSocketConnection
from jupyter_server.services.kernels.connection.base import (
    BaseKernelWebsocketConnection,
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
)
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from ..server_hooks import (
    GatewayConnectedHook,
    connection_class,
    set_client_nodelay,
    set_connection_class,
)
from ..untrusted import Header, LogLimiter, Message, message
from .wire_format import unpacker

if TYPE_CHECKING:
    from .routing import MessageRouter

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
_failures = LogLimiter()
_EXECUTE_REQUEST = "execute_request"
_INPUT_REPLY = "input_reply"


def _protocol(conn: Any) -> str | None:
    """The websocket's protocol: ZMQChannelsWebsocketConnection says it; any
    other connection class has it from the handler that chose it."""
    try:
        return conn.subprotocol
    except AttributeError:
        return getattr(conn.websocket_handler, "selected_subprotocol", None)


def _client_message(conn: Any, ws_msg: str | bytes) -> tuple[str | None, Message | None]:
    """(channel, message) of a client message we care about, else (channel,
    None). What a client sends is anything: shaped (`untrusted.message`)."""
    if _protocol(conn) == V1_PROTOCOL:
        if b"execute_request" not in ws_msg and b"input_reply" not in ws_msg:
            return None, None
        channel, parts = deserialize_msg_from_ws_v1(ws_msg)
        unpack = unpacker(conn.session)
        header = unpack(parts[0])
        msg_type = Header(header).msg_type
        if msg_type != _EXECUTE_REQUEST and msg_type != _INPUT_REPLY:
            return channel, None
        msg = message(
            {
                "header": header,
                "metadata": unpack(parts[2]) if len(parts) > 2 else {},
                "content": unpack(parts[3]) if len(parts) > 3 else {},
            }
        )
    else:
        if isinstance(ws_msg, bytes):
            if b"execute_request" not in ws_msg and b"input_reply" not in ws_msg:
                return None, None
            raw = deserialize_binary_message(ws_msg)
        else:
            if "execute_request" not in ws_msg and "input_reply" not in ws_msg:
                return None, None
            raw = json.loads(ws_msg)
        msg = message(raw)
        channel = msg.channel or "shell"
    msg_type = msg.header.msg_type
    return channel, (msg if msg_type in (_EXECUTE_REQUEST, _INPUT_REPLY) else None)


class ObservedConnectionMixin:
    """Reports a kernel websocket's traffic to `router`; set on the subclass."""

    router: MessageRouter
    nodelay: Callable[[], bool] = staticmethod(lambda: False)
    # What the connection class it is mixed into provides.
    kernel_id: str
    session: Any
    websocket_handler: Any
    multi_kernel_manager: Any
    log: Any

    # Whether the socket has TCP_NODELAY now; None: left as the server set it.
    _nodelay_now: bool | None = None

    def connect(self) -> Any:
        if self.nodelay():
            # The browser's socket: each reply goes out at once.
            self._observe(lambda: self._set_nodelay(True))
        result = super().connect()  # type: ignore[misc]
        self._observe(lambda: self.router.on_connections_changed(self.kernel_id, +1))
        return result

    def disconnect(self) -> Any:
        result = super().disconnect()  # type: ignore[misc]
        self._observe(lambda: self.router.on_connections_changed(self.kernel_id, -1))
        return result

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        # Seen before it is forwarded: `submitted` is when the client sent it.
        # (try/except here rather than _observe: it runs for every message.)
        try:
            self._observe_incoming(incoming_msg)
        except Exception:
            self._observe_failed()
        super().handle_incoming_message(incoming_msg)  # type: ignore[misc]

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
        if channel == "shell" or channel == "stdin":
            try:
                self._observe_outgoing(channel, outgoing_msg)
            except Exception:
                self._observe_failed()
        if self._nodelay_now is not None:
            self._pace()
        super().handle_outgoing_message(stream, outgoing_msg)  # type: ignore[misc]

    def _pace(self) -> None:
        """TCP_NODELAY off while the kernel runs a cell with more queued behind
        it, on otherwise (after the message was observed: a reply can bring
        the queue up to date). Flipped only when that changes: twice a run."""
        wanted = not self.router.in_a_run(self.kernel_id)
        if wanted is not self._nodelay_now:
            try:
                self._set_nodelay(wanted)
            except Exception:
                self._nodelay_now = None  # (closing) not tried again
                self._observe_failed()

    def _set_nodelay(self, on: bool) -> None:
        # Turned on, it also sends at once what Nagle's algorithm holds.
        self.websocket_handler.set_nodelay(on)
        self._nodelay_now = on

    # -- observation ----------------------------------------------------------------

    def _observe(self, report: Any) -> None:
        try:
            report()
        except Exception:
            self._observe_failed()

    def _observe_failed(self) -> None:
        # What a client or kernel sends can fail the same way on every
        # message: one traceback a minute, not one a message.
        _failures.exception(
            "websocket", "Active sessions: failed to observe kernel websocket traffic", log=self.log
        )

    def _observe_incoming(self, ws_msg: Any) -> None:
        # A closed ZMQ connection drops messages (the gateway one has no channels).
        channels = getattr(self, "channels", True)
        if not channels:
            return
        channel, msg = _client_message(self, ws_msg)
        if msg is None:
            return
        # What the server itself drops never reaches the kernel: a channel it
        # does not have, a type outside its `allowed_message_types`.
        if isinstance(channels, dict) and (channel or "shell") not in channels:
            return
        allowed = getattr(self.multi_kernel_manager, "allowed_message_types", None)
        if allowed and msg.header.msg_type not in allowed:
            return
        user = getattr(self.websocket_handler, "current_user", None)
        username = getattr(user, "username", None)
        self.router.on_client_message(self.kernel_id, channel, msg, username)

    def _observe_outgoing(self, channel: str, msg_list: list[Any]) -> None:
        session = self.session
        _idents, fed = session.feed_identities(msg_list)
        raw = fed[1]
        if isinstance(raw, bytes) and b"execute_reply" not in raw and b"input_request" not in raw:
            return  # kernel_info, comm, completion replies...: not parsed a second time
        unpack = unpacker(session)
        header = unpack(raw)
        msg_type = Header(header).msg_type
        if msg_type not in ("execute_reply", "input_request"):
            return
        content = unpack(fed[4])
        router = self.router
        ok = (
            msg_type == "execute_reply"
            and isinstance(content, dict)
            and content.get("status") == "ok"
        )
        # IOPub says all an ok reply would: the run ended (idle), its count
        # (execute_input), no error; the replies read are those that settle
        # what IOPub can only guess (an error, an abort). Unless IOPub never
        # said the run began: a restarted kernel can run what was queued for
        # it before the server's IOPub socket is back, and those messages are
        # lost. The reply is then the only word that it ran.
        if ok and not router.has_pending(self.kernel_id):
            # Kept unread, for a kernel shut down before IOPub's idle is read.
            router.note_ok_reply(self.kernel_id, _later(unpack, header, fed[2], content))
            return
        msg = message({"header": header, "parent_header": unpack(fed[2]), "content": content})
        if ok and not router.is_pending(self.kernel_id, msg.parent.msg_id):
            router.note_ok_reply(self.kernel_id, lambda: msg)
            return
        router.on_kernel_message(self.kernel_id, channel, msg)


# Words without which a gateway message cannot matter to the state machine:
# most traffic (stream output, display data) is never parsed a second time.
_GATEWAY_WORDS = (
    "execution_state",
    "execute_input",
    "execute_reply",
    "input_request",
    "kernel_info_reply",
)


class ObservedGatewayConnectionMixin(GatewayConnectedHook, ObservedConnectionMixin):
    """For GatewayWebSocketConnection (remote kernels, legacy JSON protocol):
    the proxied stream is the only view of the kernel, IOPub included."""

    def _on_gateway_connected(self, ws: Any) -> None:
        if self.nodelay():
            # The server's own socket to the gateway: requests go out at once.
            self._observe(lambda: set_client_nodelay(ws))

    def handle_outgoing_message(self, incoming_msg: str, *args: Any) -> None:
        if any(word in incoming_msg for word in _GATEWAY_WORDS):
            self._observe(lambda: self._observe_gateway(incoming_msg))
        super(ObservedConnectionMixin, self).handle_outgoing_message(incoming_msg, *args)  # type: ignore[misc]

    def _observe_gateway(self, raw: str | bytes) -> None:
        self.router.on_gateway_message(self.kernel_id, message(json.loads(raw)))


def observed_connection_class(
    base: type, router: MessageRouter, nodelay: Callable[[], bool] = lambda: False
) -> type:
    """A subclass of `base` (the server's connection class before we came)
    that reports to `router` and sets TCP_NODELAY while `nodelay()`."""
    mixin = (
        ObservedGatewayConnectionMixin
        if issubclass(base, GatewayWebSocketConnection)
        else ObservedConnectionMixin
    )
    return type(
        "ActiveSessions" + base.__name__,
        (mixin, base),
        {
            "router": router,
            "nodelay": staticmethod(nodelay),
            "observed_base": base,
            "__module__": __name__,
        },
    )


def install(
    serverapp: Any,
    router: MessageRouter,
    log: Any,
    settings: dict[str, Any],
    nodelay: Callable[[], bool] = lambda: False,
) -> type | None:
    """Put the observing subclass in place of the server's connection class.

    Idempotent: a class that already observes (ours, from an earlier load into
    this server, or another extension's subclass of ours) keeps one layer of
    observation, now reporting to `router`.

    Returns the installed class, or None when the current class is not one we
    know how to observe (then only IOPub is seen: queues show running cells,
    not pending ones).
    """
    current = connection_class(serverapp)
    if isinstance(current, type) and issubclass(current, ObservedConnectionMixin):
        if current.router is not router:
            if "observed_base" in current.__dict__:  # made by observed_connection_class
                current = observed_connection_class(
                    current.__dict__["observed_base"], router, nodelay
                )
            else:
                # Another extension subclassed ours: keep its class, which
                # observes through our layer already.
                current.router = router
                current.nodelay = staticmethod(nodelay)
        set_connection_class(serverapp, settings, current)
        return current
    # Any connection class built on jupyter_server's base has the methods
    # observed (jupyter-server-documents' own, say, with a kernel client per
    # websocket); what it forwards is seen on the way, as with the stock one.
    known = (ZMQChannelsWebsocketConnection, GatewayWebSocketConnection)
    if not (isinstance(current, type) and issubclass(current, BaseKernelWebsocketConnection)):
        log.warning(
            "Active sessions: the kernel websocket connection class is %s.%s, not one "
            "built on jupyter_server's BaseKernelWebsocketConnection; pending "
            "executions will not be listed (running ones still are, from IOPub).",
            getattr(current, "__module__", "?"),
            getattr(current, "__qualname__", current),
        )
        return None
    if current not in known:
        log.warning(
            "Active sessions: another extension set the kernel websocket connection "
            "class to %s.%s; observing it by subclassing it. If kernels misbehave, "
            "check the two extensions together.",
            current.__module__,
            current.__qualname__,
        )
    cls = observed_connection_class(current, router, nodelay)
    set_connection_class(serverapp, settings, cls)
    return cls


def counted_by_server(cls: type | None) -> bool:
    """Whether jupyter_server counts the websockets of connection class
    `cls` (its kernel model's `connections`): the stock class tells the
    kernel manager of each; others (jupyter-server-documents 0.3.3's) do not,
    and the observed class's own count is the one to go by."""
    return cls is None or issubclass(cls, ZMQChannelsWebsocketConnection)


def uninstall(serverapp: Any, router: MessageRouter) -> None:
    """Give the server back the class it had, if ours for `router` is in place."""
    current = connection_class(serverapp)
    if (
        isinstance(current, type)
        and "observed_base" in current.__dict__
        and getattr(current, "router", None) is router
    ):
        set_connection_class(serverapp, None, current.__dict__["observed_base"])


def _later(
    unpack: Callable[[Any], Any], header: Any, parent: Any, content: Any
) -> Callable[[], Message]:
    """A reply's message, its parent header parsed only if it is asked for."""
    return lambda: message({"header": header, "parent_header": unpack(parent), "content": content})
