"""Deterministic text for generated data files: YAML and JSON dumps, never string-built."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold long strings: folding differs between emitters
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    return yaml


def to_yaml(data: Any, header: str = "") -> str:
    """One YAML document; keys keep their insertion order (renderers build them in a fixed order)."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return header + stream.getvalue()


def to_yaml_documents(documents: Iterable[Any], header: str = "") -> str:
    """Several YAML documents separated by `---`, for multi-resource manifest files."""
    parts = [to_yaml(doc) for doc in documents]
    return header + "---\n" + "---\n".join(parts)


def to_json(data: Any) -> str:
    """Pretty, key-sorted JSON with a final newline (terraform *.auto.tfvars.json and the like)."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
