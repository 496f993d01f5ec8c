"""The package's own catalogs, as JupyterLab reads them: the JSON beside each
.po file (jupyter_session_ext/locale/<lang>/LC_MESSAGES/jupyter_session_ext.json,
made by the wheel's build). The panel gets them from jupyterlab_server through
the `jupyterlab.locale` entry point; the server reads them here for the
settings schema's titles and descriptions (server_hooks.SchemaTranslation).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DOMAIN = "jupyter_session_ext"
LOCALE_DIR = Path(__file__).with_name("locale")


@lru_cache(maxsize=8)
def catalog(language: str) -> dict[str, list[str]]:
    """Each message's translations in `language` ("fr_FR", "zh-CN": any case,
    either separator, as jupyterlab_server matches folders); {} for a language
    with no catalog. A message with a context is under "context\\x04msgid"."""
    wanted = language.replace("-", "_").lower()
    try:
        folders = [p for p in LOCALE_DIR.iterdir() if p.name.lower() == wanted]
    except OSError:
        return {}
    for folder in folders:
        path = folder / "LC_MESSAGES" / f"{DOMAIN}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return {
            k: [str(f) for f in v]
            for k, v in data.items()
            if k and isinstance(v, list) and v and all(isinstance(f, str) for f in v)
        }
    return {}
