"""Beside Voilà (its real server extension, voila 0.5.13): a rendered
dashboard's kernel is one of the server's kernels with no Jupyter session
bound to it. It must still say which notebook it serves, from what Voilà gives
the kernel (lifecycle/voila.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from jupyter_session_ext.lifecycle.voila import dashboard_notebook

from conftest import poll

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "c1",
            "metadata": {},
            "outputs": [],
            "source": "answer = 6 * 7\nanswer",
        }
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def jp_server_config(jp_server_config):
    config = copy.deepcopy(jp_server_config)
    config["ServerApp"]["jpserver_extensions"]["voila.server_extension"] = True
    return config


async def test_a_dashboards_kernel_names_its_notebook(api, jp_fetch, jp_root_dir: Path):
    folder = jp_root_dir / "sales dashboards"
    folder.mkdir()
    (folder / "q3 board.ipynb").write_text(json.dumps(NOTEBOOK))
    page = await jp_fetch("voila", "render", "sales dashboards", "q3 board.ipynb")
    # Voilà 0.5 runs the cells from the page, in the browser, over the
    # kernel's websocket: here, with no browser, the kernel is only started.
    assert b"voila" in page.body.lower()
    data = await poll(
        lambda: api.get("api", "active-sessions"),
        lambda d: d["total"] == 1 and d["sessions"][0]["status"] == "ready",
    )
    session = data["sessions"][0]
    assert session["jupyter_sessions"] == []  # Voilà binds none: the path comes from the kernel
    assert session["notebook_path"] == "sales dashboards/q3 board.ipynb"
    assert session["notebook_uri"] == (folder / "q3 board.ipynb").as_uri()
    assert session["session_mode"] == "notebook"
    assert session["working_directory"] == str(folder)


async def test_a_plain_kernel_is_no_dashboard(api):
    kernel = await api.start_kernel()
    session = await api.wait_session(kernel, lambda s: s["status"] == "ready")
    assert session["notebook_path"] is None
    assert session["session_mode"] == "background"


VOILA = {"SERVER_SOFTWARE": "voila/0.5.13", "VOILA_BASE_URL": "/base/"}


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("/base/voila/render/a/b.ipynb", "a/b.ipynb"),
        ("/base/voila/render/a%20b/c.ipynb", "a b/c.ipynb"),
        # Not a rendered notebook under the root, or not what Voilà sends.
        ("/base/voila/render/", None),
        ("/base/voila/render/../secret.ipynb", None),
        ("/base/voila/render/%2e%2e/secret.ipynb", None),
        ("/base/voila/render/a/../../b.ipynb", None),
        ("/base/voila/render//etc/passwd", None),
        ("/base/voila/render/a%0a%1b[31mb.ipynb", None),
        ("/base/voila/render/" + "a" * 2000, None),
        ("/other/voila/render/a.ipynb", None),
        ("/base/voila/tree/a.ipynb", None),
    ],
)
def test_the_path_from_voilas_environment(script, expected):
    assert dashboard_notebook({**VOILA, "SCRIPT_NAME": script}) == expected


def test_only_voila_kernels_are_dashboards():
    script = {"SCRIPT_NAME": "/base/voila/render/a.ipynb", "VOILA_BASE_URL": "/base/"}
    assert dashboard_notebook(script) is None
    assert dashboard_notebook({**script, "SERVER_SOFTWARE": "nginx/1.2"}) is None
    assert dashboard_notebook(None) is None
