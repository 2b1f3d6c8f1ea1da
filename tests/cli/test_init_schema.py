"""`homelab init`: the starter config and its JSON Schema, which editors use through the modeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from homelabeazy.config.starter import SCHEMA_FILE

INVALID = Path(__file__).resolve().parent.parent / "fixtures" / "config" / "invalid"


def validator(folder: Path) -> Draft202012Validator:
    schema = json.loads((folder / SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def yaml_data(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.fixture
def initialised(cli: Any, tmp_path: Path) -> Path:
    result = cli("init", str(tmp_path / "lab"))
    assert result.code == 0, result.err
    return tmp_path / "lab"


def test_init_writes_config_and_schema_the_modeline_names(initialised: Path) -> None:
    first = (initialised / "homelab.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./{SCHEMA_FILE}"
    assert (initialised / SCHEMA_FILE).is_file()


def test_example_passes_the_json_schema(initialised: Path) -> None:
    errors = list(validator(initialised).iter_errors(yaml_data(initialised / "homelab.yaml")))
    assert not errors, [e.message for e in errors]


def test_schema_carries_the_field_docs(initialised: Path) -> None:
    schema = json.loads((initialised / SCHEMA_FILE).read_text(encoding="utf-8"))
    cluster = schema["$defs"]["ClusterConfig"]["properties"]
    assert "kube-vip" in cluster["vip"]["description"]
    assert schema["$defs"]["ClusterConfig"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("unknown-key-typo", "Additional properties are not allowed ('bridgee'"),
        ("type-int", "'lots' is not of type 'integer'"),
        ("pattern-k3s-version", "'1.33.5' does not match"),
        ("missing-token-id", "'token_id' is a required property"),
        ("type-enum", "'guest' is not one of"),
        ("type-vlan-id-range", "5000 is greater than the maximum of 4094"),
        ("type-ipv4", "'10.10.30.256' is not a 'ipv4'"),
    ],
)
def test_invalid_configs_fail_the_json_schema_too(initialised: Path, case: str, words: str) -> None:
    messages = [e.message for e in validator(initialised).iter_errors(yaml_data(INVALID / f"{case}.yaml"))]
    assert any(words in m for m in messages), messages


def test_init_refuses_to_overwrite(cli: Any, initialised: Path) -> None:
    (initialised / "homelab.yaml").write_text("name: mine\n")
    result = cli("init", str(initialised))
    assert result.code == 2
    assert "already exists" in result.err
    assert (initialised / "homelab.yaml").read_text() == "name: mine\n"
    assert cli("init", "--force", str(initialised)).code == 0


def test_schema_command_prints_the_same_schema(cli: Any, initialised: Path) -> None:
    result = cli("schema")
    assert result.code == 0
    assert result.out == (initialised / SCHEMA_FILE).read_text(encoding="utf-8")
