"""The embedded starter config and the JSON Schema editors use for it."""

from __future__ import annotations

import json
from importlib.resources import files

from homelabeazy.config.schema import HomelabConfig

SCHEMA_FILE = "homelab.schema.json"
SCHEMA_ID = "https://homelabeazy.dev/schema/homelab.schema.json"


def example_text() -> str:
    """The fully commented example homelab.yaml shipped with the package."""
    return (files("homelabeazy.config") / "example.yaml").read_text(encoding="utf-8")


def json_schema_text() -> str:
    """JSON Schema of homelab.yaml, generated from the pydantic models and their docstrings."""
    schema = HomelabConfig.model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
