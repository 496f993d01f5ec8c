"""One version, set in package.json: the Python package's, the built
labextension's and the OpenAPI document's (filled in when served) agree."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

import jupyter_session_ext
from jupyter_session_ext import __version__
from jupyter_session_ext.api.handlers import OPENAPI_PATH, openapi_document

ROOT = Path(__file__).resolve().parents[1]


def package_json_version(path: Path) -> Version:
    # npm's "1.0.0-alpha.1" and Python's "1.0.0a1" are one version.
    return Version(json.loads(path.read_text())["version"])


def test_the_python_package_has_package_json_version():
    # hatch-nodejs-version reads it at install time: an install older than
    # package.json fails here (reinstall: pip install -e .).
    assert Version(__version__) == Version(version("jupyter_session_ext"))
    assert Version(__version__) == package_json_version(ROOT / "package.json")


def test_the_built_labextension_has_package_json_version():
    built = Path(jupyter_session_ext.__file__).parent / "labextension" / "package.json"
    if not built.exists():  # `make test` builds it (pip install -e .); a bare checkout has none
        pytest.skip("the labextension is not built here (jlpm build)")
    assert package_json_version(built) == package_json_version(ROOT / "package.json")


def test_the_openapi_document_has_no_version_of_its_own():
    shipped = yaml.safe_load(OPENAPI_PATH.read_text())
    assert shipped["info"]["version"] == "PACKAGE_VERSION"
    served = yaml.safe_load(openapi_document())
    assert served["info"]["version"] == __version__
    assert isinstance(served["info"]["version"], str)
