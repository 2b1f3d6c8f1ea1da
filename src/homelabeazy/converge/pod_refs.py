"""What a pod template refers to: Secrets, ConfigMaps, PVCs, its ServiceAccount, pull secrets.

A missing non-optional Secret or ConfigMap (or a missing key of one) keeps the pod in
CreateContainerConfigError; a missing PVC or ServiceAccount keeps it from being created at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from homelabeazy.converge.inventory import Inventory, containers
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject


@dataclass(frozen=True)
class PodRef:
    """One reference of a pod template."""

    kind: str
    name: str
    where: str
    """`volume data`, `env DB_PASSWORD of container app`: where the template names it."""
    key: str | None = None
    optional: bool = False


def pod_refs(owner: DesiredObject, template: Mapping[str, Any]) -> Iterator[PodRef]:
    """Every reference the pod template makes (a StatefulSet's claim templates make their PVCs)."""
    spec = as_map(template.get("spec"))
    claims = {
        str(dig(t, "metadata", "name")) for t in as_list(dig(owner.doc, "spec", "volumeClaimTemplates"))
    }
    yield from _volume_refs(claims if owner.kind == "StatefulSet" else set(), spec)
    for container in containers(template):
        yield from _container_refs(container)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    yield PodRef("ServiceAccount", str(account), "serviceAccountName")
    for pull in as_list(spec.get("imagePullSecrets")):
        yield PodRef("Secret", str(as_map(pull).get("name", "")), "imagePullSecrets")


def _volume_refs(claim_templates: set[str], spec: Mapping[str, Any]) -> Iterator[PodRef]:
    for volume in (as_map(v) for v in as_list(spec.get("volumes"))):
        where = f"volume {volume.get('name', '?')}"
        for kind, field, name_field in (
            ("Secret", "secret", "secretName"),
            ("ConfigMap", "configMap", "name"),
        ):
            if field in volume:
                yield from _source_refs(kind, as_map(volume[field]), name_field, where)
        claim = dig(volume, "persistentVolumeClaim", "claimName")
        if claim is not None and claim not in claim_templates:
            yield PodRef("PersistentVolumeClaim", str(claim), where)
        for source in as_list(dig(volume, "projected", "sources")):
            for kind, field in (("Secret", "secret"), ("ConfigMap", "configMap")):
                ref = as_map(as_map(source).get(field))
                if ref:
                    yield from _source_refs(kind, ref, "name", where)


def _source_refs(kind: str, source: Mapping[str, Any], name_field: str, where: str) -> Iterator[PodRef]:
    """A Secret or ConfigMap volume source: the object, and each key its `items` pick."""
    name, optional = str(source.get(name_field, "")), source.get("optional") is True
    yield PodRef(kind, name, where, optional=optional)
    for item in (as_map(i) for i in as_list(source.get("items"))):
        if item.get("key") is not None:
            yield PodRef(kind, name, where, str(item["key"]), optional)


def _container_refs(container: Mapping[str, Any]) -> Iterator[PodRef]:
    name = container.get("name", "?")
    for env in (as_map(e) for e in as_list(container.get("env"))):
        where = f"env {env.get('name', '?')} of container {name}"
        for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            ref = as_map(dig(env, "valueFrom", field))
            if ref:
                key = ref.get("key")
                optional = ref.get("optional") is True
                yield PodRef(
                    kind, str(ref.get("name", "")), where, str(key) if key is not None else None, optional
                )
    for source in (as_map(s) for s in as_list(container.get("envFrom"))):
        for kind, field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = as_map(source.get(field))
            if ref:
                where = f"envFrom of container {name}"
                yield PodRef(kind, str(ref.get("name", "")), where, optional=ref.get("optional") is True)


def unresolved(ref: PodRef, namespace: str | None, have: Inventory) -> str | None:
    """Why the reference does not resolve, or None when it does."""
    if ref.optional:
        return None
    if not have.has(ref.kind, namespace, ref.name):
        return f"{ref.kind} {ref.name} ({ref.where}) does not exist in namespace {namespace}"
    if ref.key is not None:
        keys = have.keys.get((ref.kind, namespace, ref.name))
        if keys is not None and ref.key not in keys:
            known = ", ".join(sorted(keys)) or "none"
            return f"{ref.kind} {ref.name} has no key {ref.key} ({ref.where}; it has: {known})"
    return None
