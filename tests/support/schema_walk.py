"""Walk the homelab.yaml schema: every leaf field with its path, type and annotations.

The input-rule tests use it to hold every field of a kind (every string, every URL, every number)
to the same rule, so a field added later without the rule fails a test instead of slipping through.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from homelabeazy.config.schema import HomelabConfig


@dataclass(frozen=True)
class Leaf:
    """One scalar slot of the schema: `path` as users write it (`apps[].chart.repo`, `{key}` for a
    mapping's keys), the scalar type, every annotation on the way down, and the field it belongs to."""

    path: str
    kind: Any
    metadata: tuple[Any, ...]
    model: type[BaseModel] | None
    field: str

    @property
    def name(self) -> str:
        """The field's own name (the last word of the path)."""
        return self.field


def leaves(model: type[BaseModel] = HomelabConfig, prefix: str = "") -> Iterator[Leaf]:
    """Every scalar slot under `model`, depth first, each model visited once per path."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}.{key}" if prefix else key
        yield from _walk(info.annotation, tuple(info.metadata), path, model, key)


def _walk(
    annotation: Any, metadata: tuple[Any, ...], path: str, model: type[BaseModel], field: str
) -> Iterator[Leaf]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        yield from _walk(args[0], (*metadata, *annotation.__metadata__), path, model, field)
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            if arg is not type(None):
                yield from _walk(arg, metadata, path, model, field)
    elif origin in (list, tuple):
        yield from _walk(args[0], (), f"{path}[]", model, field)
    elif origin is dict:
        yield from _walk(args[0], (), f"{path}{{key}}", model, field)
        if args[1] not in (Any, object):
            yield from _walk(args[1], (), f"{path}{{}}", model, field)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from leaves(annotation, path)
    else:
        yield Leaf(path, annotation, metadata, model, field)


def patterns(leaf: Leaf) -> list[str]:
    """The regex patterns among a leaf's annotations."""
    return [m.pattern for m in leaf.metadata if isinstance(getattr(m, "pattern", None), str)]


def validators(leaf: Leaf) -> list[Any]:
    """The functions of the leaf's After/Before validators."""
    return [m.func for m in leaf.metadata if callable(getattr(m, "func", None))]
