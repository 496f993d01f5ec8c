"""Which kernel messages are the user's work, and which the state machine
reads: the message types shared by the status machine and the observers."""

from __future__ import annotations

from collections.abc import Callable

# jupyter_server's default `MappingKernelManager.untracked_message_types`. The
# registry passes the server's own `track_message_type` so both APIs agree even
# when an admin changes that list; this default serves pure-logic use and tests.
DEFAULT_UNTRACKED_MESSAGE_TYPES = frozenset(
    {
        "comm_info_request",
        "comm_info_reply",
        "kernel_info_request",
        "kernel_info_reply",
        "shutdown_request",
        "shutdown_reply",
        "interrupt_request",
        "interrupt_reply",
        "debug_request",
        "debug_reply",
        "stream",
        "display_data",
        "update_display_data",
        "execute_input",
        "execute_result",
        "error",
        "status",
        "clear_output",
        "debug_event",
        "input_request",
        "input_reply",
    }
)

# Requests a kernel takes on its control channel only (ipykernel's
# `control_msg_types` beyond the shell's). Its busy and idle for them are not
# the user's work: a monitor asking for usage every few seconds
# (jupyter-resource-usage's `usage_request`) must neither end a busy period
# nor restart an idle one. jupyter_server's untracked list has the first three,
# not the others, so they are never tracked here whatever the server says.
CONTROL_ONLY_REQUESTS = frozenset(
    {
        "debug_request",
        "interrupt_request",
        "shutdown_request",
        "usage_request",
        "create_subshell_request",
        "delete_subshell_request",
        "list_subshell_request",
    }
)

# IOPub message types whose content the state machine reads; observers may skip
# unpacking the content of every other type (it is most of the traffic).
IOPUB_CONTENT_TYPES = frozenset({"status", "execute_input", "error"})


def default_track_message_type(msg_type: str | None) -> bool:
    return msg_type not in DEFAULT_UNTRACKED_MESSAGE_TYPES


class TrackedTypes:
    """Whether a message (or its parent) of a type is the user's work: never
    a control-channel request, otherwise as `track` (the server's
    `track_message_type`) says. Its answers are kept: it is asked three times
    per IOPub message, and the server's list is configuration, fixed while
    it runs."""

    def __init__(self, track: Callable[[str | None], bool] = default_track_message_type) -> None:
        self.track = track
        self._known: dict[str | None, bool] = {}

    def __call__(self, msg_type: str | None) -> bool:
        known = self._known.get(msg_type)
        if known is None:
            known = msg_type not in CONTROL_ONLY_REQUESTS and bool(self.track(msg_type))
            if len(self._known) < 256:  # the types a kernel sends are few
                self._known[msg_type] = known
        return known
