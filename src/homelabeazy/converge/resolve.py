"""From documents to desired objects: each object's effective namespace, and only what a sync applies.

Shared by the state's build and by a single chart rendered again (`converge.recipes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homelabeazy.converge.kube import CLUSTER_SCOPED_CORE
from homelabeazy.desired.state import DesiredObject, Origin, hook_phases


@dataclass(frozen=True)
class Raw:
    """A document before its namespace is resolved (CRDs decide what is cluster-scoped)."""

    doc: Mapping[str, Any]
    origin: Origin
    default_namespace: str | None


def resolve_namespaces(raws: list[Raw], known_scoped: Iterable[tuple[str, str]] = ()) -> list[DesiredObject]:
    """Effective namespaces, and only what a sync applies (Helm test hooks and Skip are dropped).

    What is cluster-scoped: K3s' core kinds, the CRDs among `raws` that say so, `known_scoped`."""
    scoped = set(CLUSTER_SCOPED_CORE) | set(known_scoped)
    for raw in raws:
        spec = raw.doc.get("spec") or {}
        if raw.doc.get("kind") == "CustomResourceDefinition" and spec.get("scope") == "Cluster":
            scoped.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    objects = []
    for raw in raws:
        meta = raw.doc.get("metadata") or {}
        if hook_phases(meta.get("annotations") or {}) is None:
            continue
        group = str(raw.doc.get("apiVersion", "")).rpartition("/")[0]
        if (group, str(raw.doc.get("kind", ""))) in scoped:
            namespace = None
        else:
            namespace = str(meta.get("namespace") or raw.default_namespace or "default")
        objects.append(DesiredObject(raw.doc, raw.origin, namespace))
    return objects
