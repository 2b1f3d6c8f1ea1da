"""How each chart of the desired state was rendered, so one can be rendered again with other values.

The outcome check points a broken promise at the user's override behind it by rendering the
service's chart with part of the user's values (converge.outcomes); this keeps what that takes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from homelabeazy.converge.resolve import Raw, resolve_namespaces
from homelabeazy.desired.state import DesiredObject, DesiredState, Origin
from homelabeazy.ops import helm as helm_ops


@dataclass(frozen=True)
class ChartRecipe:
    """How one chart of the state was rendered: the request Helm ran (its last pass) and the text of
    each values layer, so it can be rendered again with other values."""

    application: str
    wave: int
    prefix: str
    """`<chart>-<version>`, the start of its objects' origin files."""
    request: helm_ops.TemplateRequest
    layers: tuple[tuple[str, bool], ...]
    """(text, read from the repo) of each values layer: the values file of the Application (or the
    HelmChart's valuesContent), and inline values, which are not the repo's."""
    crds_only: bool


@dataclass(frozen=True)
class BuiltState:
    """The desired state and what it takes to render one of its charts again (the outcome check's
    attribution re-renders a chart with part of the user's values)."""

    state: DesiredState
    helm: helm_ops.Helm
    recipes: tuple[ChartRecipe, ...]

    def rerender(self, application: str, values: Mapping[str, Any]) -> tuple[DesiredObject, ...] | None:
        """The objects Application `application`'s chart renders with `values` in place of the values
        file of the repo; None when Helm refuses (or there is no such chart).

        Objects are resolved as the state's were (namespaces, hooks ArgoCD skips dropped); the scope
        of a kind is the one the state already knows.
        """
        recipe = next((r for r in self.recipes if r.application == application and not r.crds_only), None)
        if recipe is None:
            return None
        cluster_scoped = {(o.group, o.kind) for o in self.state.objects if o.namespace is None}
        new_text = yaml.safe_dump(dict(values), sort_keys=False)
        with tempfile.TemporaryDirectory(prefix="homelab-rerender-") as tmp:
            paths = []
            for index, (text, from_repo) in enumerate(recipe.layers):
                path = Path(tmp) / f"{index}.yaml"
                path.write_text(new_text if from_repo else text, encoding="utf-8")
                paths.append(path)
            request = replace(recipe.request, value_files=tuple(paths))
            result = helm_ops.template(self.helm, request, helm_ops.render_cache_dir())
        if result.error:
            return None
        objects = []
        for template, doc in result.documents:
            rel = template.split("/", 1)[1] if "/" in template else template
            origin = Origin(recipe.application, recipe.wave, f"{recipe.prefix}/{rel}", "chart")
            objects.extend(resolve_namespaces([Raw(doc, origin, request.namespace)], cluster_scoped))
        return tuple(objects)
