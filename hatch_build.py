"""The wheel's catalogs: JupyterLab reads translations as JSON
(jupyter_session_ext/locale/<lang>/LC_MESSAGES/jupyter_session_ext.json),
made here from the .po files, which are the source and the only ones
committed (labextension/i18n/compile.py). Runs for every wheel, editable
ones too, with or without node."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        folder = Path(self.root) / "labextension" / "i18n"
        # compile.py imports extract.py beside it by name.
        import sys

        sys.path.insert(0, str(folder))
        try:
            spec = importlib.util.spec_from_file_location("_catalogs", folder / "compile.py")
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for path, data in module.compiled().items():
                if not path.exists() or path.read_bytes() != data:
                    path.write_bytes(data)
        finally:
            sys.path.remove(str(folder))
