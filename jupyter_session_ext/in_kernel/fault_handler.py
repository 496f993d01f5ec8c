"""Run by IPython as a kernel starts (PYTHONSTARTUP, set by the server only
when it was not set: lifecycle/kernel_output.py), in the user's namespace,
which it leaves as it found it.

PYTHONFAULTHANDLER turned Python's fault handler on at the interpreter's
start, writing to fd 2. ipykernel then put a pipe of its own on fd 2 (its
`capture_fd_output`), read by a thread of the kernel's that dies with it: a
fault's traceback written there is lost with the process. So the handler
is pointed at a copy of the stream fd 2 was before (which ipykernel keeps,
and which the server reads), duplicated so that it stays open however
ipykernel closes its own. Nothing is done when the handler is off or
ipykernel does not capture.
"""


def _jupyter_session_ext_fault_handler():
    try:
        import faulthandler
        import os
        import sys

        original = getattr(sys.stderr, "_original_stdstream_copy", None)
        if isinstance(original, int) and faulthandler.is_enabled():
            faulthandler.enable(file=os.dup(original), all_threads=True)
    except Exception:  # never fail the kernel's start for it
        pass


_jupyter_session_ext_fault_handler()
del _jupyter_session_ext_fault_handler
