"""The package's own catalogs, as JupyterLab reads them: the JSON beside each
.po file (jupyter_session_ext/locale/<lang>/LC_MESSAGES/jupyter_session_ext.json,
made by the wheel's build). The panel gets them from jupyterlab_server through
the `jupyterlab.locale` entry point; the server reads them here for the
settings schema's titles and descriptions (SchemaTranslation), the one place
the extension wraps jupyterlab_server (read against 2.28.1;
tests/test_translations.py checks what it relies on).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

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


class SchemaTranslation:
    """Our settings schema's titles and descriptions in JupyterLab's language,
    from our own catalogs, in the settings editor.

    jupyterlab_server translates a schema on the server
    (`translator.translate_schema`, with the domain the schema names), through
    gettext catalogs it looks for in a language pack only
    (jupyterlab_language_pack_<locale>/locale), never in the package that owns
    the schema, and not through the `jupyterlab.locale` entry point it serves
    the panel's translations from. So our domain's bundle is ours: it answers
    from `catalog(locale)` first, then as jupyterlab_server's own would.
    And the settings list JupyterLab loads at start (what the settings editor
    shows) translates the core's schemas only, not those of prebuilt
    extensions like ours: `get_settings`, as the settings handler calls it, is
    wrapped to translate ours there too (the one-plugin answer already is).

    Relies on `translator._TRANSLATORS` (bundles by normalized domain, each
    told `update_locale` on a change of language, `load` returning the one
    there), `translator._LOCALE`, `TranslationBundle.gettext`/`pgettext`, which
    translate_schema calls, and `settings_handler.get_settings`, called by name
    with a `translator=` keyword and answering ({"settings": [plugin, …]}, warnings)
    for the list.
    """

    def __init__(self, domain: str, catalog: Callable[[str], dict[str, list[str]]]) -> None:
        self.domain = domain
        self.installed = False
        self.bundle: Any = None
        self._previous: Any = None
        self._list_wrap: Any = None
        try:
            from jupyterlab_server import settings_handler
            from jupyterlab_server.translation_utils import TranslationBundle, translator
        except ImportError:  # no JupyterLab here: no settings editor to translate
            return

        class Bundle(TranslationBundle):
            ours_for = catalog

            def update_locale(self, locale_: str) -> None:
                self.ours = catalog(locale_)
                super().update_locale(locale_)

            def gettext(self, msgid: str) -> str:
                forms = self.ours.get(msgid)
                return forms[0] if forms else str(super().gettext(msgid))

            def pgettext(self, msgctxt: str, msgid: str) -> str:
                forms = self.ours.get(f"{msgctxt}\x04{msgid}")
                return forms[0] if forms else str(super().pgettext(msgctxt, msgid))

        registry = translator._TRANSLATORS
        current = registry.get(domain)
        if getattr(type(current), "ours_for", None) is catalog:
            # Installed already (by another server in this process): one is enough.
            self.bundle = current
            return
        self._registry = registry
        self._previous = current
        self.bundle = Bundle(domain, translator._LOCALE)
        registry[domain] = self.bundle

        def ours(schema: Any) -> bool:
            i18n = (
                schema.get("jupyter.lab.internationalization") if isinstance(schema, dict) else None
            )
            return isinstance(i18n, dict) and i18n.get("domain") == domain

        self._module = settings_handler
        self._original = settings_handler.get_settings
        original = self._original

        def get_settings(*args: Any, **kwargs: Any) -> Any:
            result, warnings = original(*args, **kwargs)
            translate = kwargs.get("translator")
            listed = result.get("settings") if isinstance(result, dict) else None
            if translate is not None and isinstance(listed, list):
                result = {
                    **result,
                    "settings": [
                        {**entry, "schema": translate(copy.deepcopy(entry["schema"]))}
                        if isinstance(entry, dict) and ours(entry.get("schema"))
                        else entry
                        for entry in listed
                    ],
                }
            return result, warnings

        self._list_wrap = get_settings
        settings_handler.get_settings = get_settings
        self.installed = True

    def uninstall(self) -> None:
        if self.installed:
            if self._registry.get(self.domain) is self.bundle:
                if self._previous is None:
                    del self._registry[self.domain]
                else:
                    self._registry[self.domain] = self._previous
            if self._module.get_settings is self._list_wrap:
                self._module.get_settings = self._original
        self.installed = False
