"""The catalogs: every message the panel and the settings schema show is
translated in every language we ship, with its placeholders and plural forms,
and JupyterLab's own lookup (jupyterlab_server, through the
`jupyterlab.locale` entry point of the installed package) finds them.

A message added to labextension/src without its translations fails here:
`make i18n` brings the catalogs in step and says what is left to translate.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import sys
from pathlib import Path

import pytest
from jupyterlab_server.translation_utils import get_installed_packages_locale, translator

from jupyter_session_ext import translations

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "labextension" / "i18n"))

import compile as compile_catalogs  # noqa: E402
import extract  # noqa: E402

LANGUAGES = ["fr_FR", "zh_CN"]
# JupyterLab's check of a catalog's Plural-Forms before it evaluates it
# (@jupyterlab/translation's Gettext.getPluralFunc): one that fails it throws
# and leaves every message of the domain in English.
JUPYTERLAB_PLURAL_FORMS = re.compile(
    r"^\s*nplurals\s*=\s*\d+\s*;\s*plural\s*=[\s\-?|&=!<>+*/%:;n0-9_()]+$"
)
PLACEHOLDER = re.compile(r"%\d+")


@pytest.fixture(scope="module")
def found() -> extract.Found:
    return extract.extract()


def catalog_of(language: str):
    return extract.read(
        extract.LOCALE / language / "LC_MESSAGES" / f"{extract.DOMAIN}.po", locale=language
    )


def forms(entry) -> list[str]:
    return list(entry.string) if isinstance(entry.id, tuple | list) else [entry.string]


def test_the_shipped_languages_are_the_catalogs() -> None:
    assert [p.parts[-3] for p in extract.catalogs()] == LANGUAGES


def test_the_code_marks_every_message_it_shows(found: extract.Found) -> None:
    # A call given a variable no catalog could hold, or a scan that lost its way.
    assert found.problems == []
    sources = {where for places in found.messages.values() for where in places}
    assert "schema/plugin.json" in sources
    assert len([s for s in sources if s.startswith("labextension/src/")]) >= 10


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(found: extract.Found, language: str) -> None:
    catalog = catalog_of(language)
    missing = []
    for message, places in sorted(found.messages.items(), key=lambda kv: kv[0].key):
        entry = catalog.get(message.msgid, context=message.context)
        if entry is None or entry.fuzzy or not all(forms(entry)):
            missing.append(f"{message.msgid!r} ({', '.join(sorted(places))})")
    assert not missing, (
        f"not translated in {language} (make i18n, then translate them in "
        f"jupyter_session_ext/locale/{language}/LC_MESSAGES/{extract.DOMAIN}.po):\n"
        + "\n".join(missing)
    )


def test_the_template_is_current(found: extract.Found) -> None:
    assert extract.messages_of(extract.read(extract.TEMPLATE)) == set(found.messages), (
        "labextension/i18n/jupyter_session_ext.pot: run make i18n"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    wrong = []
    for entry in catalog_of(language):
        if not entry.id or not all(forms(entry)):
            continue
        if isinstance(entry.id, tuple | list):
            # The count (%1) may be left out of a form ("Shut down kernel?"),
            # nothing else may be dropped or made up.
            wanted = set(PLACEHOLDER.findall(entry.id[0] + entry.id[1]))
            for form in forms(entry):
                got = set(PLACEHOLDER.findall(form))
                if not (wanted - {"%1"} <= got <= wanted | {"%1"}):
                    wrong.append((entry.id[0], form))
        elif set(PLACEHOLDER.findall(entry.string)) != set(PLACEHOLDER.findall(entry.id)):
            wrong.append((entry.id, entry.string))
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_as_jupyterlab_counts_them(language: str) -> None:
    catalog = catalog_of(language)
    assert JUPYTERLAB_PLURAL_FORMS.match(catalog.plural_forms), catalog.plural_forms
    for entry in catalog:
        if entry.id and isinstance(entry.id, tuple | list):
            assert len(entry.string) == catalog.num_plurals, entry.id
    data = translations.catalog(language)
    # JupyterLab takes a plural translation only when it has two forms or more
    # (Chinese has one: it is written twice).
    assert len(data["%1 busy"]) >= 2


def test_french_counts_as_the_language_pack_does() -> None:
    assert catalog_of("fr_FR").plural_forms == "nplurals=2; plural=(n > 1);"


def test_the_compiled_catalogs_are_current() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, data in compile_catalogs.compiled().items()
        if not path.exists() or path.read_bytes() != data
    ]
    assert stale == [], "run make i18n (or reinstall): the .po files changed since"


@pytest.mark.parametrize(
    ("language", "tag", "translated"),
    [
        ("fr_FR", "fr-FR", "Sessions actives"),
        ("zh_CN", "zh-CN", "活动会话"),
        ("zh_cn", "zh-CN", "活动会话"),
    ],
)
def test_jupyterlab_server_finds_our_catalogs(language: str, tag: str, translated: str) -> None:
    """What jupyterlab_server hands a JupyterLab set to `language`: our
    catalog, found through the installed package's entry point."""
    data, message = get_installed_packages_locale(language)
    assert message == ""
    ours = data[extract.DOMAIN]
    assert ours[""]["domain"] == extract.DOMAIN
    # JupyterLab files the messages under the language as it names it ("fr-FR").
    assert ours[""]["language"] == tag
    assert JUPYTERLAB_PLURAL_FORMS.match(ours[""]["plural_forms"])
    assert ours["Active Sessions"] == [translated]
    assert translations.catalog(language)["Active Sessions"] == [translated]


def test_a_language_without_a_catalog_has_none() -> None:
    data, _ = get_installed_packages_locale("de_DE")
    assert extract.DOMAIN not in data
    assert translations.catalog("de_DE") == {}


@pytest.fixture
def schema_translation():
    """A SchemaTranslation of the test's own. One is installed per process: a
    server an earlier test loaded the extension into may have left its own,
    taken out here for the test and put back after."""
    before = translator._LOCALE
    left = translator._TRANSLATORS.pop(translations.DOMAIN, None)
    hook = translations.SchemaTranslation(translations.DOMAIN, translations.catalog)
    yield hook
    hook.uninstall()
    translator.set_locale(before)
    if left is not None:
        translator._TRANSLATORS[translations.DOMAIN] = left


@pytest.mark.parametrize(
    ("language", "title", "refresh"),
    [
        ("fr_FR", "Sessions actives", "Intervalle d'actualisation (secondes)"),
        ("zh_CN", "活动会话", "刷新间隔（秒）"),
        ("en", "Active Sessions", "Refresh interval (seconds)"),
    ],
)
def test_the_settings_schema_in_jupyterlabs_language(
    schema_translation, language: str, title: str, refresh: str
) -> None:
    """jupyterlab_server's own translate_schema (what its settings API answers
    the settings editor with), given our schema, in each language."""
    assert schema_translation.installed
    schema = json.loads((ROOT / "schema" / "plugin.json").read_text())
    translator.set_locale(language)
    shown = translator.translate_schema(copy.deepcopy(schema))
    assert shown["title"] == title
    assert shown["properties"]["refreshInterval"]["title"] == refresh


def test_the_schema_translation_is_taken_back(schema_translation) -> None:
    schema = json.loads((ROOT / "schema" / "plugin.json").read_text())
    schema_translation.uninstall()
    translator.set_locale("fr_FR")
    assert translator.translate_schema(copy.deepcopy(schema))["title"] == "Active Sessions"


def test_the_settings_list_carries_our_schema_translated(schema_translation, tmp_path) -> None:
    """The list of every plugin's settings, which JupyterLab loads at start
    and the settings editor shows: as jupyterlab_server's settings handler
    asks for it, with our built labextension in a labextensions folder."""
    from jupyterlab_server import settings_handler

    import jupyter_session_ext

    labextensions = tmp_path / "labextensions"
    labextensions.mkdir()
    built = Path(jupyter_session_ext.__file__).parent / "labextension"
    (labextensions / "jupyter-session-ext").symlink_to(built, target_is_directory=True)
    (tmp_path / "schemas").mkdir()
    translator.set_locale("fr_FR")
    listed, _ = settings_handler.get_settings(
        str(tmp_path / "app"),
        str(tmp_path / "schemas"),
        str(tmp_path / "user"),
        labextensions_path=[str(labextensions)],
        schema_name="",
        overrides={},
        translator=translator.translate_schema,
    )
    (ours,) = [p for p in listed["settings"] if p["id"] == "jupyter-session-ext:plugin"]
    assert ours["schema"]["title"] == "Sessions actives"
    assert ours["schema"]["properties"]["sortBy"]["title"] == "Trier les noyaux par"


def test_the_settings_api_translates_schemas_through_the_domains_bundle(schema_translation):
    """SchemaTranslation relies on this: jupyterlab_server's settings API
    translates each schema with translator.translate_schema, which asks
    translator.load for the schema's domain; load answers from _TRANSLATORS,
    where ours sits; the handler calls get_settings by name with translator=."""
    from jupyterlab_server.settings_handler import SettingsHandler

    handler = inspect.getsource(SettingsHandler.get)
    assert "translator.translate_schema" in handler
    assert "get_settings(" in handler and "translator=" in handler
    assert "translator.load(" in inspect.getsource(translator.translate_schema)
    hook = schema_translation
    assert hook.installed
    assert translator.load(translations.DOMAIN) is hook.bundle
    again = translations.SchemaTranslation(translations.DOMAIN, translations.catalog)
    assert not again.installed and again.bundle is hook.bundle  # one per process
    hook.uninstall()
    assert translator.load(translations.DOMAIN) is not hook.bundle
