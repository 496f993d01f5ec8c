"""Which notebook a Voilà dashboard's kernel serves. Voilà (as a server
extension) starts a kernel of the server's own kernel manager for each page
it renders, with no Jupyter session bound to it: all that says which
notebook it runs is the environment Voilà gives the kernel, CGI style
(`SERVER_SOFTWARE=voila/<version>`, `SCRIPT_NAME=<base_url>voila/render/<path>`,
`VOILA_BASE_URL=<base_url>`). Tested with voila 0.5.13
(tests/test_beside_voila.py)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import unquote

MAX_PATH = 1024


def dashboard_notebook(env: Mapping[str, str] | None) -> str | None:
    """The notebook's path (relative to the server's root, as the Contents
    API says it), or None when Voilà did not start this kernel for a
    rendered notebook. The values pass through a page's URL: anything that
    is not a plain relative path under the root is no answer."""
    if not env or not env.get("SERVER_SOFTWARE", "").startswith("voila/"):
        return None
    script = env.get("SCRIPT_NAME", "")
    prefix = env.get("VOILA_BASE_URL", "/").rstrip("/") + "/voila/render/"
    if not script.startswith(prefix) or len(script) > MAX_PATH:
        return None
    path = unquote(script[len(prefix) :])
    normal = posixpath.normpath(path)
    if (
        not path
        or normal != path.rstrip("/")
        or normal.startswith(("/", "../"))
        or normal == ".."
        or not normal.isprintable()
    ):
        return None
    return normal
