"""Validate real answers against the shipped OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import jupyter_session_ext

SPEC_PATH = Path(jupyter_session_ext.__file__).parent / "api" / "openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
_REGISTRY = Registry().with_resource(
    "urn:openapi", Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{schema_name}"}, registry=_REGISTRY
    )


def check(schema_name: str, data: Any) -> None:
    errors = sorted(validator(schema_name).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
