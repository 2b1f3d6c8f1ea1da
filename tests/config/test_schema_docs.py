"""The JSON Schema documents every key: each field's docstring becomes its `description`.

The docstrings are read from the model sources when the schema is generated (config.starter), not
by pydantic at import; these tests pin that every property, inherited ones included, still gets
its text, and that validation never pays for reading sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from homelabeazy.config.json_schema import attribute_docs, json_schema_text
from homelabeazy.config.schema import ArgocdConfig, FirewallRule, ServiceBase

SRC = Path(__file__).resolve().parents[2] / "src"


def test_every_property_of_every_model_has_a_description() -> None:
    schema = json.loads(json_schema_text())
    undocumented = [
        f"{name}.{key}"
        for name, definition in [("HomelabConfig", schema), *schema["$defs"].items()]
        for key, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undocumented == []


def test_inherited_fields_keep_their_docstrings() -> None:
    inherited = set(ServiceBase.model_fields)
    assert inherited
    assert inherited <= attribute_docs(ArgocdConfig).keys()


def test_an_aliased_field_is_described_under_its_alias() -> None:
    rule = json.loads(json_schema_text())["$defs"]["FirewallRule"]["properties"]
    aliased = {info.alias: field for field, info in FirewallRule.model_fields.items() if info.alias}
    assert aliased, "FirewallRule has an aliased field (from/to)"
    for alias, field in aliased.items():
        assert rule[alias]["description"] == attribute_docs(FirewallRule)[field]


def test_loading_the_schema_reads_no_source_file() -> None:
    """pydantic's use_attribute_docstrings would parse every model's source at each start-up."""
    probe = (
        "import linecache, homelabeazy.config.schema; "
        "print(sum(1 for f in linecache.cache if f.endswith('schema.py')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    assert result.stdout.strip() == "0"


def test_the_shipped_schema_is_what_the_models_say() -> None:
    """`homelab init` copies the shipped file instead of building the schema (no pydantic at init):
    it must be what the models generate today (`make docs-gen` writes it)."""
    from homelabeazy.config.starter import schema_text

    assert schema_text() == json_schema_text(), "run `make docs-gen` and commit the schema"
