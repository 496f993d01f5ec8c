"""Whether a test run left the user's own Jupyter and IPython folders as it
found them: `make test` takes a snapshot first and checks it last.

    python tests/untouched_dirs.py snapshot FILE   # before the tests
    python tests/untouched_dirs.py check FILE      # after: exit 1 listing what changed

The folders are the user's ones of `jupyter --paths` (config, data, runtime)
and IPython's (every kernel writes its history there), as this environment
names them. A file or folder added, removed or changed counts, and so does a
folder whose entries changed and changed back (a server that wrote its
runtime file there and removed it on exit still used the user's folder).
Tests give every server and kernel folders of their own
(tests/server_process.py, ui-tests/playwright.config.js).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir, jupyter_runtime_dir


def ipython_dir() -> str:
    # IPython's own rule (IPython.paths.get_ipython_dir), without importing IPython.
    return os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")


def user_dirs() -> list[str]:
    dirs = [jupyter_config_dir(), jupyter_data_dir(), jupyter_runtime_dir(), ipython_dir()]
    # The runtime dir is inside the data dir by default: list each file once.
    unique = sorted({os.path.abspath(d) for d in dirs})
    return [d for d in unique if not any(d.startswith(o + os.sep) for o in unique if o != d)]


def entries(root: str) -> dict[str, list[int]]:
    """path -> [is a folder, size, mtime in ns] for `root` and all under it
    (symlinks as themselves, not followed); nothing when it does not exist."""
    found: dict[str, list[int]] = {}
    if not os.path.lexists(root):
        return found
    for folder, dirnames, filenames in os.walk(root):
        for path in [folder, *(os.path.join(folder, n) for n in filenames)]:
            st = os.lstat(path)
            is_dir = path == folder
            # A folder's size says nothing; its mtime changes with its entries.
            found[path] = [int(is_dir), 0 if is_dir else st.st_size, st.st_mtime_ns]
        # Symlinked folders are listed as entries, not walked into.
        for name in [n for n in dirnames if os.path.islink(os.path.join(folder, n))]:
            dirnames.remove(name)
            st = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = [0, st.st_size, st.st_mtime_ns]
    return found


def snapshot() -> dict[str, dict[str, list[int]]]:
    return {d: entries(d) for d in user_dirs()}


def differences(
    before: dict[str, dict[str, list[int]]], after: dict[str, dict[str, list[int]]]
) -> list[str]:
    lines = []
    for root in sorted(set(before) | set(after)):
        old, new = before.get(root, {}), after.get(root, {})
        for path in sorted(set(old) | set(new)):
            if path not in old:
                lines.append(f"new      {path}")
            elif path not in new:
                lines.append(f"removed  {path}")
            elif old[path] != new[path]:
                what = "entries changed" if new[path][0] else "changed"
                lines.append(f"{'changed':8} {path} ({what})")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("snapshot", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, file = argv
    if command == "snapshot":
        Path(file).write_text(json.dumps(snapshot()))
        return 0
    before = json.loads(Path(file).read_text())
    found = differences(before, snapshot())
    if not found:
        print(f"The user's Jupyter and IPython folders are untouched: {', '.join(before)}")
        return 0
    print("The tests wrote into the user's own Jupyter or IPython folders:", file=sys.stderr)
    for line in found:
        print("  " + line, file=sys.stderr)
    print(
        "A test's server or kernel must get folders of its own (tests/server_process.py"
        " own_dirs, ui-tests/playwright.config.js). A Jupyter you ran yourself while the"
        " tests ran writes there too.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
