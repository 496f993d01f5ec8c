"""Make what JupyterLab reads from the catalogs (the .po files, which are the
source): beside each jupyter_session_ext/locale/<lang>/LC_MESSAGES/jupyter_session_ext.po,
jupyter_session_ext.json, the JSON JupyterLab's translator loads:
`{"": {"domain", "language", "plural_forms"}, msgid: [translation, …]}`, a
message with a context under `context + "\\x04" + msgid`. jupyterlab_server
serves it, through the package's `jupyterlab.locale` entry point, to a
JupyterLab set to that language; the server reads it too for the settings
schema's titles and descriptions (jupyter_session_ext/translations.py).

The JSON is not committed: the wheel's build makes it (hatch_build.py), and
so does `make i18n` in a working tree. Untranslated and fuzzy messages are
left out (they show in English).

    python labextension/i18n/compile.py           # write them
    python labextension/i18n/compile.py --check   # fail when one is not current
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from extract import DOMAIN, ROOT, catalogs, read  # noqa: E402


def jupyterlab_json(catalog, language: str) -> bytes:
    """The catalog as JupyterLab's Gettext loads it."""
    nplurals = catalog.num_plurals
    data: dict[str, object] = {
        "": {
            "domain": DOMAIN,
            # Gettext files messages under this name and looks them up under
            # the user's language with a hyphen ("fr-FR", as the language
            # packs write it).
            "language": language.replace("_", "-"),
            "plural_forms": catalog.plural_forms,
        }
    }
    for entry in catalog:
        if not entry.id or entry.fuzzy:
            continue
        if isinstance(entry.id, tuple | list):
            forms = list(entry.string)
            if not all(forms):
                continue
            # JupyterLab takes a plural translation only when it has more
            # than one form: a language with one (Chinese) gets it twice.
            while len(forms) < max(2, nplurals):
                forms.append(forms[-1])
            msgid = entry.id[0]
        else:
            if not entry.string:
                continue
            forms = [entry.string]
            msgid = entry.id
        key = msgid if entry.context is None else f"{entry.context}\x04{msgid}"
        data[key] = forms
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def compiled() -> dict[Path, bytes]:
    """Each file to write and what it holds."""
    out: dict[Path, bytes] = {}
    for po in catalogs():
        language = po.parts[-3]
        catalog = read(po, locale=language)
        out[po.with_suffix(".json")] = jupyterlab_json(catalog, language)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is not current")
    options = parser.parse_args(argv)
    stale = []
    for path, data in compiled().items():
        if path.exists() and path.read_bytes() == data:
            continue
        stale.append(path)
        if not options.check:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ROOT)}")
    if options.check and stale:
        print("not current (python labextension/i18n/compile.py):", file=sys.stderr)
        print("\n".join(f"  {p.relative_to(ROOT)}" for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
