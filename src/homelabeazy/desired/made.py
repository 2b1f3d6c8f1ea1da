"""Objects a controller creates at run time, as catalog modules describe them to the checks.

A leaf module (it imports only `state`), so catalog modules can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from homelabeazy.desired.state import DesiredObject


def made_beside(
    owner: DesiredObject,
    kind: str,
    name: str,
    *,
    keys: tuple[str, ...] | None = None,
    ports: tuple[tuple[str, int], ...] | None = None,
    selector: Mapping[str, str] | None = None,
) -> DesiredObject:
    """A core object (`Secret` with `keys`, `Service` with named TCP `ports` and a pod `selector`)
    that a controller creates in `owner`'s namespace because `owner` exists; findings about it point
    at `owner`'s file."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": owner.namespace},
    }
    if keys is not None:
        doc["data"] = dict.fromkeys(keys, "")
    if ports is not None:
        doc["spec"] = {
            "ports": [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in ports]
        }
    if selector is not None:
        doc.setdefault("spec", {})["selector"] = dict(selector)
    return replace(owner, doc=doc)


def labelled_pod(owner: DesiredObject, suffix: str, labels: Mapping[str, str]) -> DesiredObject:
    """A pod of workload `owner` as it runs once it has labelled itself with `labels` (Services
    may select on labels a controller only adds at run time)."""
    template = owner.doc.get("spec", {}).get("template", {})
    metadata = template.get("metadata", {})
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            **metadata,
            "name": f"{owner.name}-{suffix}",
            "labels": {**metadata.get("labels", {}), **labels},
        },
        "spec": template.get("spec", {}),
    }
    return replace(owner, doc=pod)
