"""A user's Helm values over ours: the deep merge, and the keys of ours they must not touch.

`services.<name>.values` is merged into the values a service's renderer produces: a mapping
merges key by key, anything else (a list, a scalar, `null`) replaces what was there. Each
catalog module declares the values its homelab depends on (`ServiceEntry.owned_values`);
`conflicts` finds the user's keys that would change one of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.model.service import OwnedValue

ValuePath = tuple[str, ...]


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` merged over `base`, neither changed: ours keep their order, new keys follow in
    the order the user wrote them (so the rendered values file is the same for the same input)."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = _plain(value)
    return merged


def _plain(value: Any) -> Any:
    """A copy of user data as plain dicts and lists (the YAML dumper writes nothing else)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def leaves(values: Mapping[str, Any], prefix: ValuePath = ()) -> Iterator[ValuePath]:
    """The paths the user sets: every key whose value is not a mapping (an empty mapping sets
    nothing: merged over a mapping, it changes no key)."""
    for key, value in values.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from leaves(value, path)
        else:
            yield path


def _set(values: Mapping[str, Any], prefix: ValuePath = ()) -> Iterator[tuple[ValuePath, bool]]:
    """(path, is an empty mapping) for every key the user wrote that holds no keys of its own."""
    for key, value in values.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _set(value, path)
        else:
            yield path, isinstance(value, Mapping)


def conflicts(
    values: Mapping[str, Any], owned: tuple[OwnedValue, ...]
) -> Iterator[tuple[ValuePath, OwnedValue]]:
    """(user's path, the owned value it changes), each user path once:

    - anything at an owned path, or inside one: a value, `null`, a list, and an empty mapping too
      (merged over our scalar, `existingSecret: {}` replaces it with a mapping the chart reads as
      unset);
    - anything but a mapping above one (`global: null`, `global: 5` replace the mapping holding it).

    An empty mapping above an owned path is a no-op (merged into ours, it changes no key).
    """
    for path, empty in _set(values):
        for value in owned:
            at_or_inside = path[: len(value.path)] == value.path
            above = len(path) < len(value.path) and value.path[: len(path)] == path
            if at_or_inside or (above and not empty):
                yield path, value
                break


def dotted(path: ValuePath) -> str:
    """`('configs', 'params', 'server.insecure')` -> `configs.params."server.insecure"`: a key that
    holds a dot, a quote, a bracket or nothing is written as a JSON string, so the path reads back."""
    return ".".join(_quoted(key) if not key or _SPECIAL.search(key) else key for key in path)


def _quoted(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


_SPECIAL = re.compile(r'[.\[\]"\\\s]')
