"""The package's layers, read from its own source: the state core imports
no server, kernel client, tornado or ZMQ; each layer imports only those
below it; no import circle (imports under TYPE_CHECKING included); no
module over 400 lines, no class over 300."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_session_ext"
FORBIDDEN_IN_STATE = ("tornado", "zmq", "jupyter_client", "jupyter_server")
# Each layer and what it may import from the package, besides itself. The
# root modules: server_hooks and _version sit under everything; registry,
# app and cli compose the layers. `untrusted` (what comes from outside,
# shaped) is the floor: every layer may use it, it uses none.
LAYERS = {
    "untrusted": set(),
    "state": {"untrusted"},
    "store": {"state", "untrusted"},
    "memory": {"state", "untrusted"},
    "traffic": {"state", "server_hooks", "untrusted"},
    "lifecycle": {"state", "store", "memory", "traffic", "server_hooks", "untrusted"},
    "api": {"state", "lifecycle", "memory", "_version", "untrusted"},
}


def modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p
        for p in PACKAGE.rglob("*.py")
    }


def imported(name: str, path: Path) -> set[str]:
    """The modules `name` imports, absolute, wherever the import stands."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def ours(names: set[str], known: dict[str, Path]) -> set[str]:
    return {n for n in names if n in known}


def layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") >= 1 else ""


def test_the_state_core_imports_no_server_client_tornado_or_zmq():
    for name, path in modules().items():
        if layer(name) != "state":
            continue
        bad = {m for m in imported(name, path) if m.split(".")[0] in FORBIDDEN_IN_STATE}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_importing_the_state_core_loads_none_of_them():
    """In a fresh interpreter, as a library user would import it."""
    code = (
        "import sys, jupyter_session_ext.state.record, jupyter_session_ext.state.changes, "
        "jupyter_session_ext.state.ended; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_IN_STATE!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True
    ).stdout
    assert out.strip() == "[]", out


def test_each_layer_imports_only_those_below_it():
    known = modules()
    for name, path in known.items():
        allowed = LAYERS.get(layer(name))
        if allowed is None:
            continue
        for target in ours(imported(name, path), known):
            if target == "jupyter_session_ext":
                continue
            assert layer(target) in allowed | {layer(name)}, f"{name} imports {target}"


def test_no_import_circle():
    known = modules()
    graph = {
        name: ours(imported(name, path), known) - {name, "jupyter_session_ext"}
        for name, path in known.items()
    }
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(name) :] + [name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("limit_module, limit_class", [(400, 300)])
def test_no_module_over_400_lines_no_class_over_300(limit_module, limit_class):
    for name, path in modules().items():
        source = path.read_text()
        assert source.count("\n") <= limit_module, f"{name}: {source.count(chr(10))} lines"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                assert size <= limit_class, f"{name}.{node.name}: {size} lines"
