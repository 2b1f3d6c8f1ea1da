"""Semantic checks on `services.<name>.values` and `apps[].chart.values`: the user's Helm values.

What the homelab depends on is declared by each service's catalog module (`OWNED_VALUES`), never
listed here. These are the fast path: what can be judged from homelab.yaml alone. Whether the
objects the charts render with those values still keep the homelab's promises is for the
convergence proof (`validate --deep`, its `outcome` check) to say.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.load import FieldPath
from homelabeazy.config.plain import unrepresentable, walk
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog import REGISTRY, OwnedValue
from homelabeazy.model.catalog.overrides import ValuePath, conflicts, dotted


@check("values-conflict")
def values_keep_what_the_homelab_needs(config: HomelabConfig) -> Iterator[Finding]:
    """Values merged over ours must not change a value the homelab depends on (its catalog says which)."""
    for name, make in REGISTRY.items():
        values = getattr(config.services, name).values
        if not values:
            continue
        for path, owned in conflicts(values, make(config).owned_values):
            yield Finding(("services", name, "values", *path), _conflict_words(path, owned), owned.fix)


@check("values-representable")
def values_are_plain_data(config: HomelabConfig) -> Iterator[Finding]:
    """Helm values are plain data that Helm reads as homelabeazy does: no tag, set, timestamp, binary, NaN."""
    for root, values in _all_values(config):
        for path, value in walk(values):
            found = unrepresentable(value)
            if found is not None:
                what, hint = found
                yield Finding((*root, *path), f"{what} cannot be written into a Helm values file", hint)


def _all_values(config: HomelabConfig) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    for name in REGISTRY:
        values = getattr(config.services, name).values
        if values:
            yield ("services", name, "values"), values
    for index, app in enumerate(config.apps):
        if app.chart is not None and app.chart.values:
            yield ("apps", index, "chart", "values"), app.chart.values


def _conflict_words(path: ValuePath, owned: OwnedValue) -> str:
    """Say how the user's key meets the owned one: the same key, a key inside it, or a value
    that replaces a mapping holding it."""
    mine, ours = dotted(path), dotted(owned.path)
    if path == owned.path:
        how = f"{mine} is set by homelabeazy"
    elif len(path) > len(owned.path):
        how = f"{mine} is inside {ours}, which homelabeazy sets"
    else:
        how = f"{mine} would replace {ours}, which homelabeazy sets"
    return f"{how} because {owned.why}"
