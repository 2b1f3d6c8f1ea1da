"""The embedded starter config and the JSON Schema editors use for it, as shipped package data.

Reading them costs no pydantic: `homelab init` copies two files. The schema file is generated
from the models (config/json_schema.py, `make docs-gen`); a test keeps it equal to what the
models say today.
"""

from __future__ import annotations

from importlib.resources import files

SCHEMA_FILE = "homelab.schema.json"


def example_text() -> str:
    """The fully commented example homelab.yaml shipped with the package."""
    return (files("homelabeazy.config") / "example.yaml").read_text(encoding="utf-8")


def schema_text() -> str:
    """The JSON Schema of homelab.yaml, as shipped (equal to `json_schema.json_schema_text()`)."""
    return (files("homelabeazy.config") / SCHEMA_FILE).read_text(encoding="utf-8")
