"""Kernels as users run them, for the tests of last words.

ipykernel does not capture its fd 1 and fd 2 (`capture_fd_output`) when
PYTEST_CURRENT_TEST is in its environment, which every kernel a test's
server starts inherits: the kernelspecs here drop it, so the kernel's
streams and its fault handler are wired as outside the tests."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

ENV = shutil.which("env") or "/usr/bin/env"


def kernelspec(data_dir: Path, name: str = "python3", argv: list[str] | None = None, **spec: Any):
    """Write kernelspec `name` (python3 shadows the installed one) under
    `data_dir`'s kernels: ipykernel, without pytest's variable."""
    spec_dir = Path(data_dir) / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = argv or [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [ENV, "-u", "PYTEST_CURRENT_TEST", *argv],
                "display_name": spec.pop("display_name", "Python 3 (ipykernel)"),
                "language": "python",
                **spec,
            }
        )
    )
    return name
