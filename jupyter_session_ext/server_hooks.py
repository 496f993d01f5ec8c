"""Every place the extension wraps or reads the internals of jupyter_server
(and of jupyter_client and pyzmq beneath it), in one module: what a
maintainer upgrading them must look at, and nothing else does.

Each hook says what it relies on; `CHECKED` says against which versions.
tests/test_server_hooks.py has a test per hook, against the installed
packages, that fails loudly when upstream changes under it. Wraps are
installed and taken back one way (`MethodHook`): an attribute on the
instance over the class's method, removed only while it is still ours, so
the class's own method shows again and a wrap by someone else is left alone.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

# The versions each hook was read against (and tests/test_server_hooks.py runs on).
CHECKED = {
    "jupyter_server": "2.18 to 2.21.1",
    "jupyter_client": "8.6 to 8.10.0 (KernelLaunchHook: 8.10.0)",
    "pyzmq": "26 to 27",
}


class MethodHook:
    """`obj.name` replaced by `make(original)` until `uninstall`."""

    def __init__(self, obj: Any, name: str, make: Callable[[Callable[..., Any]], Any]) -> None:
        self.obj, self.name = obj, name
        original = getattr(obj, name, None)
        self.installed = original is not None
        self.wrapper = make(original) if original is not None else None
        if self.installed:
            setattr(obj, name, self.wrapper)

    def uninstall(self) -> None:
        if self.installed and self.obj.__dict__.get(self.name) is self.wrapper:
            delattr(self.obj, self.name)  # the class's method shows again
        self.installed = False


# -- MappingKernelManager --------------------------------------------------------------


def after_start_watching_activity(km: Any, then: Callable[[str], None]) -> MethodHook:
    """`then(kernel_id)` each time the server starts watching a kernel's IOPub
    (`MappingKernelManager.start_watching_activity(kernel_id)`, which puts a
    new `_activity_stream` on the kernel: a pending kernel coming up, a
    restart on new ports)."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def start_watching_activity(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            result = original(kernel_id, *args, **kwargs)
            then(kernel_id)
            return result

        return start_watching_activity

    return MethodHook(km, "start_watching_activity", make)


def rewatch(km: Any, kernel_id: str) -> None:
    """Watch a kernel anew, as jupyter_server does itself after a restart it
    was asked for that changed the ports (`_async_restart_kernel`)."""
    km.stop_watching_activity(kernel_id)
    km.start_watching_activity(kernel_id)


def around_cull_kernel_if_idle(
    km: Any,
    skip: Callable[[str], bool],
    before: Callable[[str], Any],
    after: Callable[[str, Any], None],
) -> MethodHook:
    """The culler's `MappingKernelManager.cull_kernel_if_idle(kernel_id)`
    (a coroutine, called every `cull_interval` for each kernel): not called
    when `skip(kernel_id)`; else between `before` and `after(kernel_id,
    what before returned)`."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        async def cull_kernel_if_idle(kernel_id: str) -> Any:
            if skip(kernel_id):
                return None
            token = before(kernel_id)
            try:
                return await original(kernel_id)
            finally:
                after(kernel_id, token)

        return cull_kernel_if_idle

    return MethodHook(km, "cull_kernel_if_idle", make)


def around_shutdown_kernel(
    km: Any, before: Callable[[str], Any], failed: Callable[[str, Any], None]
) -> MethodHook:
    """`before(kernel_id)` as `MappingKernelManager.shutdown_kernel` begins
    (the kernels and sessions routes, the culler and ours all call it), and
    `failed(kernel_id, what before returned)` if it raises, whether it
    answers at once or with an awaitable."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            token = before(kernel_id)
            try:
                result = original(kernel_id, *args, **kwargs)
            except BaseException:
                failed(kernel_id, token)
                raise
            if not inspect.isawaitable(result):
                return result

            async def finish() -> Any:
                try:
                    return await result
                except BaseException:
                    failed(kernel_id, token)
                    raise

            return finish()

        return shutdown_kernel

    return MethodHook(km, "shutdown_kernel", make)


def connection_count(kernel_manager: Any, kernel_id: str) -> int | None:
    """jupyter_server's own count of a kernel's websockets (what its kernel
    model reports as `connections`): `MappingKernelManager._kernel_connections`."""
    counts = getattr(kernel_manager, "_kernel_connections", None)
    return int(counts.get(kernel_id, 0)) if isinstance(counts, dict) else None


# -- SessionManager ---------------------------------------------------------------------

SESSION_WRITES = ("create_session", "update_session", "delete_session")


def after_session_writes(session_manager: Any, then: Callable[[], None]) -> list[MethodHook]:
    """`then()` after each of `SessionManager`'s writes (SESSION_WRITES, the
    sessions routes' and other extensions' way to change sessions), once the
    awaitable they return is done, whether it succeeded or not."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def write(*args: Any, **kwargs: Any) -> Any:
            try:
                result = original(*args, **kwargs)
            except BaseException:
                then()
                raise
            if not inspect.isawaitable(result):
                then()
                return result

            async def finish() -> Any:
                try:
                    return await result
                finally:
                    then()

            return finish()

        return write

    return [MethodHook(session_manager, name, make) for name in SESSION_WRITES]


def kernel_managers(kernel_manager: Any) -> dict[str, Any]:
    """Every kernel's manager by kernel id, in one read of
    `MultiKernelManager._kernels` (asking `get_kernel` for each of 100
    kernels on every read of the list was a tenth of what it cost)."""
    managers = getattr(kernel_manager, "_kernels", None)
    if isinstance(managers, dict):
        return dict(managers)
    found = {}
    for kernel_id in kernel_manager.list_kernel_ids():
        try:
            found[kernel_id] = kernel_manager.get_kernel(kernel_id)
        except KeyError:
            continue
    return found


# -- one kernel's manager (jupyter_client's KernelManager, as the server keeps it) -----


def activity_stream(km: Any) -> Any:
    """The server's IOPub watcher of this kernel (a ZMQStream), if any:
    `kernel._activity_stream`, set by `start_watching_activity`."""
    return getattr(km, "_activity_stream", None)


def restart_pending(km: Any) -> bool:
    """A restart the server was asked for is under way: it re-watches the
    kernel itself when done (`kernel._pending_restart_cleanup`, set by
    `_async_restart_kernel` until the new process answers)."""
    return getattr(km, "_pending_restart_cleanup", None) is not None


def iopub_url(km: Any) -> str:
    """The address the kernel's IOPub is on now (`KernelManager._make_url`)."""
    return str(km._make_url("iopub"))


def launched_process(km: Any) -> Any | None:
    """The Popen of a local kernel (`km.provisioner.process`, the local
    provisioner's), or None (a remote kernel, or none launched)."""
    return getattr(getattr(km, "provisioner", None), "process", None)


def launch_args(km: Any) -> dict[str, Any]:
    """What the kernel was launched with (`KernelManager._launch_args`: env, cwd)."""
    args = getattr(km, "_launch_args", None)
    return args if isinstance(args, dict) else {}


class KernelLaunchHook:
    """`before(km, kwargs)` just before each process of a kernel of
    `kernel_manager` is launched (a start or a restart), with the keyword
    arguments its provisioner gets (`env`, and Popen's `stdout`, `stderr`
    for the local one), which it may change; it returns None or
    `after(popen)`, called with the new Popen (None if the launch failed).

    Relies on `MultiKernelManager.pre_start_kernel(kernel_name, kwargs)`
    making each kernel's manager (`(km, kernel_name, kernel_id)`), whose
    `_async_start_kernel` calls `self._async_launch_kernel(kernel_cmd, **kw)`
    with what `provisioner.pre_launch` made, which the local provisioner gives
    `launcher.launch_kernel(cmd, stdout=, stderr=, env=)`. The wrap is each
    manager's own attribute, taken back by `uninstall`."""

    LAUNCH = "_async_launch_kernel"

    def __init__(
        self,
        kernel_manager: Any,
        before: Callable[[Any, dict[str, Any]], Callable[[Any], None] | None],
    ) -> None:
        self._before = before
        self._wrapped: weakref.WeakSet[Any] = weakref.WeakSet()
        self._hook = MethodHook(kernel_manager, "pre_start_kernel", self._make_pre_start)
        self.installed = self._hook.installed

    def _make_pre_start(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def pre_start_kernel(*args: Any, **kwargs: Any) -> Any:
            made = original(*args, **kwargs)
            if self.installed:
                self._wrap(made[0])
            return made

        return pre_start_kernel

    def _wrap(self, km: Any) -> None:
        original = getattr(km, self.LAUNCH, None)
        if original is None or km in self._wrapped:
            return
        previous = vars(km).get(self.LAUNCH)  # another's wrap, put back by uninstall

        async def _async_launch_kernel(kernel_cmd: Any, **kw: Any) -> Any:
            after, popen = self._before(km, kw) if self.installed else None, None
            try:
                result = await original(kernel_cmd, **kw)
                popen = launched_process(km)
                return result
            finally:
                if after is not None:
                    after(popen)

        _async_launch_kernel.launch_hook = self  # type: ignore[attr-defined]
        _async_launch_kernel.previous = previous  # type: ignore[attr-defined]
        setattr(km, self.LAUNCH, _async_launch_kernel)
        self._wrapped.add(km)

    def uninstall(self) -> None:
        self.installed = False
        self._hook.uninstall()
        for km in list(self._wrapped):
            wrap: Any = vars(km).get(self.LAUNCH)
            if getattr(wrap, "launch_hook", None) is self:
                delattr(km, self.LAUNCH)  # the class's method shows again, or another's wrap:
                if wrap.previous is not None:
                    setattr(km, self.LAUNCH, wrap.previous)
        self._wrapped = weakref.WeakSet()


def popen_arguments_reach_the_process(km: Any) -> bool:
    """Whether `stdout`, `stderr` and `env` of the launch reach Popen: so
    does jupyter_client's own `LocalProvisioner.launch_kernel` (through
    `launcher.launch_kernel`); another provisioner is not asked to."""
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    provisioner = getattr(km, "provisioner", None)
    return (
        isinstance(provisioner, LocalProvisioner)
        and type(provisioner).launch_kernel is LocalProvisioner.launch_kernel
    )


# -- pyzmq's ZMQStream ---------------------------------------------------------------------


def stream_callback(stream: Any) -> Any:
    """The callback `stream.on_recv` set (`ZMQStream._recv_callback`)."""
    return getattr(stream, "_recv_callback", None)


# -- jupyter_server's IOPub watcher, `record_activity` ---------------------------------------

# The closure `start_watching_activity` puts on each kernel's watcher.
RECORD_ACTIVITY_QUALNAME = "MappingKernelManager.start_watching_activity.<locals>.record_activity"


class RecordActivityParts(NamedTuple):
    """What `record_activity` closes over, and the clock it reads."""

    manager: Any  # the MappingKernelManager
    kernel: Any
    kernel_id: str
    session: Any  # its own jupyter_client Session (its memory of signatures)
    utcnow: Callable[[], Any]


def record_activity_parts(record_activity: Callable[..., Any]) -> RecordActivityParts:
    """Its closure cells `self`, `kernel`, `kernel_id`, `session` and its
    module's `utcnow`; KeyError/TypeError if they are not there."""
    freevars, closure = record_activity.__code__.co_freevars, record_activity.__closure__ or ()
    cells = dict(zip(freevars, closure, strict=False))
    return RecordActivityParts(
        cells["self"].cell_contents,
        cells["kernel"].cell_contents,
        cells["kernel_id"].cell_contents,
        cells["session"].cell_contents,
        record_activity.__globals__["utcnow"],
    )


def remember_signature(session: Any, signature: bytes) -> None:
    """As jupyter_client's `Session.deserialize` does for a signed message:
    a replayed signature is refused after (`Session._add_digest`)."""
    session._add_digest(signature)


# -- the kernel websocket connection class -------------------------------------------------


def connection_class(serverapp: Any) -> Any:
    return getattr(serverapp, "kernel_websocket_connection_class", None)


def set_connection_class(serverapp: Any, settings: dict[str, Any] | None, cls: type) -> None:
    """The class jupyter_server builds each kernel websocket's connection
    from. The web app was built before extensions load: its handlers read the
    class from its settings, which the ExtensionApp rewrites from its own
    `settings` afterwards, so all three are set."""
    serverapp.kernel_websocket_connection_class = cls
    web_app = getattr(serverapp, "web_app", None)
    if web_app is not None:
        web_app.settings["kernel_websocket_connection_class"] = cls
    if settings is not None:
        settings["kernel_websocket_connection_class"] = cls


class GatewayConnectedHook:
    """Mixed into a subclass of jupyter_server's GatewayWebSocketConnection:
    `_on_gateway_connected(ws)` once its own websocket to the gateway is up
    (`GatewayWebSocketConnection._connection_done(future)` sets `self.ws`)."""

    def _connection_done(self, fut: Any) -> None:
        super()._connection_done(fut)  # type: ignore[misc]
        ws = getattr(self, "ws", None)
        if ws is not None:
            self._on_gateway_connected(ws)

    def _on_gateway_connected(self, ws: Any) -> None:
        pass


def set_client_nodelay(ws: Any) -> None:
    """TCP_NODELAY on a tornado websocket client connection (`ws.protocol`)."""
    ws.protocol.set_nodelay(True)


# -- the request being served ------------------------------------------------------------------


def requesting_user() -> str | None:
    """The user of the HTTP request being served, if any: jupyter_server keeps
    the handler in a context variable while it runs (`CallContext`)."""
    try:
        from jupyter_server.base.call_context import CallContext

        handler = CallContext.get(CallContext.JUPYTER_HANDLER)
        user = getattr(handler, "current_user", None) if handler is not None else None
    except Exception:
        return None
    name = getattr(user, "username", None)
    return name if isinstance(name, str) and name else None
