"""Chart values checked against the chart's own values.schema.json when Helm cannot do it offline.

Helm validates coalesced values (chart defaults, then each values layer) against the chart's
schema before rendering. A schema that `$ref`s a document by URL makes Helm fetch it, so such a
chart (its catalog pin lists the URLs and the package-data copies) is rendered with
`--skip-schema-validation`, and the same validation is done here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from homelabeazy.converge.kube import data_path, load_documents
from homelabeazy.model.service import ChartPin


def offline_schema(pin: ChartPin | None) -> tuple[tuple[str, str], ...] | None:
    """The (URL, data file) pairs a chart's values schema needs, or None when Helm can load it."""
    return pin.schema_refs if pin is not None and pin.schema_refs else None


def merge_values(defaults: Any, overrides: Any) -> Any:
    """Helm's coalescing: maps merge key by key, anything else is replaced; null deletes a default."""
    if isinstance(defaults, dict) and isinstance(overrides, dict):
        merged = dict(defaults)
        for key, value in overrides.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge_values(merged[key], value)
            else:
                merged[key] = value
        return merged
    return overrides


@cache
def _validator(chart_dir: Path, refs: tuple[tuple[str, str], ...]) -> jsonschema.protocols.Validator:
    schema = json.loads((chart_dir / "values.schema.json").read_text(encoding="utf-8"))
    registry: Registry = Registry()
    for url, name in refs:
        contents = json.loads(data_path(name).read_text(encoding="utf-8"))
        registry = registry.with_resource(url, Resource.from_contents(contents, default_specification=DRAFT7))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, registry=registry.crawl())


def errors(validator: jsonschema.protocols.Validator, instance: Any) -> Iterator[str]:
    """`field.path: message` for each error, sorted by path (deterministic output)."""
    found = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    for error in found:
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        yield f"{where}: {error.message}"


def check_values(pin: ChartPin | None, chart_dir: Path, layers: Iterable[Any]) -> list[str]:
    """Problems of the coalesced values against the chart's schema (empty when it has none)."""
    refs = offline_schema(pin)
    if refs is None or pin is None or not (chart_dir / "values.schema.json").is_file():
        return []
    defaults_file = chart_dir / "values.yaml"
    defaults = load_documents(defaults_file.read_text(encoding="utf-8")) if defaults_file.is_file() else []
    merged = copy.deepcopy(defaults[0]) if defaults and isinstance(defaults[0], dict) else {}
    for layer in layers:
        merged = merge_values(merged, copy.deepcopy(layer) if isinstance(layer, dict) else {})
    return [
        f"values of {pin.name} {pin.version} rejected by its values.schema.json: {text}"
        for text in errors(_validator(chart_dir, refs), merged)
    ]
