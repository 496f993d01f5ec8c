"""The OpenAPI document is served, covers every route, and real answers match it."""

from __future__ import annotations

import re

import yaml

from jupyter_session_ext import __version__
from jupyter_session_ext.api.handlers import routes

from conftest import ready
from openapi_check import SPEC, check


def test_every_route_and_method_is_documented():
    documented = {
        re.sub(r"\{[^}]+\}", "ID", path): {m for m in ops if m != "parameters"}
        for path, ops in SPEC["paths"].items()
    }
    for pattern, handler, _ in routes(None, root_dir=""):
        path = re.sub(r"\(\?P<\w+>[^)]+\)", "ID", pattern).replace("/?", "").replace("\\.", ".")
        implemented = {m.lower() for m in handler.allowed_methods()}
        assert documented.get(path) == implemented, (path, implemented)


async def test_the_document_is_served(api, jp_fetch):
    response = await jp_fetch("api", "active-sessions", "openapi.yaml")
    served = yaml.safe_load(response.body)
    # The package's version, filled in (tests/test_versions.py); the rest as shipped.
    assert served["info"].pop("version") == __version__
    assert served == {**SPEC, "info": {k: v for k, v in SPEC["info"].items() if k != "version"}}
    code, _ = await api.call(
        "GET", "api", "active-sessions", "openapi.yaml", headers={"Authorization": ""}
    )
    assert code == 403


async def test_real_answers_match_the_document(api, open_client, jp_create_notebook):
    jp_create_notebook("spec.ipynb")
    kernel_id = (await api.start_session("spec.ipynb", "notebook"))["kernel"]["id"]
    bare = await api.start_kernel()
    await api.wait_session(kernel_id, ready)
    await api.wait_session(bare, ready)
    client = await open_client(kernel_id)
    client.send_execute("import time; time.sleep(2)", cell_id="a")
    client.send_execute("1 + 1", cell_id="b")
    busy = await api.wait_session(
        kernel_id,
        lambda s: (
            s["execution_queue"]["length"] == 1 and s["execution_queue"]["active"] is not None
        ),
    )
    check("ActiveSession", busy)
    check("SessionList", await api.get("api", "active-sessions"))
    check("ServerStatus", await api.get("api", "active-sessions", "status"))
    with_usage = await api.wait_session(bare, lambda s: s["resource_usage"] is not None)
    check("ActiveSession", with_usage)
    code, patched = await api.call(
        "PATCH", "api", "active-sessions", bare, body={"display_name": "checked"}
    )
    assert code == 200
    check("ActiveSession", patched)
    for action in ("interrupt", "restart"):
        code, data = await api.call("POST", "api", "active-sessions", bare, action)
        assert code == 200
        check("ActiveSession", data)
    for code_wanted, call in [
        (404, api.call("GET", "api", "active-sessions", "nope")),
        (400, api.call("PATCH", "api", "active-sessions", bare, body={"pid": 1})),
    ]:
        code, data = await call
        assert code == code_wanted
        check("Error", data)
