"""Sphinx (MyST) configuration: `make docs` builds this site with warnings as
errors. The configuration reference is generated from the traits themselves,
so it cannot drift from the code."""

from __future__ import annotations

import inspect
from pathlib import Path

from jupyter_session_ext import __version__

project = "jupyter-session-ext"
author = "jupyter-session-ext developers"
release = version = __version__
copyright = "jupyter-session-ext developers"

extensions = ["myst_parser", "sphinxcontrib.openapi"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "pydata_sphinx_theme"
html_title = "jupyter-session-ext"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

HERE = Path(__file__).parent


def config_reference() -> str:
    """Every option an admin can set, from the configurable classes' traits."""
    from jupyter_session_ext.cli import ActiveSessionsClientApp
    from jupyter_session_ext.hub.service import FleetService
    from jupyter_session_ext.registry import CONFIGURABLE_CLASSES

    parts = [
        "Configuration reference",
        "=======================",
        "",
        "Generated from the traits when these pages are built. The server's options go "
        "in ``jupyter_server_config.py`` (``c.SessionRegistry.poll_interval = 2``) or on "
        "its command line (``--SessionRegistry.poll_interval=2``); the fleet service's on "
        "its command line in ``jupyterhub_config.py``; the CLI's on its own.",
        "",
    ]
    sections = [
        ("The server extension", CONFIGURABLE_CLASSES),
        ("The JupyterHub fleet service", [FleetService]),
        ("The CLI", [ActiveSessionsClientApp]),
    ]
    for title, classes in sections:
        parts += [title, "-" * len(title), ""]
        for cls in classes:
            for name, trait in sorted(cls.class_own_traits(config=True).items()):
                parts += [f"``{cls.__name__}.{name}`` : {type(trait).__name__}", ""]
                parts += [f"    Default: ``{trait.default_value_repr()}``", ""]
                # Help texts mark names with single backticks: literals here.
                help_text = inspect.cleandoc(trait.help or "").replace("`", "``")
                parts += ["    " + line if line else "" for line in help_text.splitlines()]
                parts += [""]
    return "\n".join(parts)


def write_generated(app: object) -> None:
    target = HERE / "operators" / "config-reference.rst"
    text = config_reference()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app: object) -> None:
    app.connect("builder-inited", write_generated)  # type: ignore[attr-defined]
