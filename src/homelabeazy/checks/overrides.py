"""Semantic checks on `services.<name>.values`: the user's Helm values over ours.

What the homelab depends on is declared by each service's catalog module (`OWNED_VALUES`), never listed here.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
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
