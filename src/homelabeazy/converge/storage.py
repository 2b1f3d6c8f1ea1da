"""At most one default StorageClass in the converged cluster.

With two, a PersistentVolumeClaim without a class gets whichever default is newest (Kubernetes
picks the most recently created one): K3s re-creates its `local-path` class on an upgrade, and from
then on new volumes silently land on one node's disk instead of replicated storage. The classes
counted are every one the state applies, K3s's own unless the servers disable `local-storage`
(converge/kube.py reads the rendered `disable` list), and those an operator creates (Longhorn
makes its class from a ConfigMap).
"""

from __future__ import annotations

from homelabeazy.converge.sync import Locator, applied
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab

DEFAULT_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
"""The API server's DefaultStorageClass admission honours both (the beta one for old objects)."""


def is_default(storage_class: DesiredObject) -> bool:
    """Whether the class is marked default (the annotation's value is exactly "true")."""
    return any(str(storage_class.annotations.get(key, "")) == "true" for key in DEFAULT_ANNOTATIONS)


def default_classes(state: DesiredState, homelab: Homelab) -> list[DesiredObject]:
    """Every default StorageClass the converged cluster holds, applied or operator-made."""
    made = [o for entry in homelab.services if entry.creates is not None for o in entry.creates(state)]
    objects = [*applied(state), *made]
    return [o for o in objects if o.kind == "StorageClass" and o.group == "storage.k8s.io" and is_default(o)]


def check_storage(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """One finding per default class beyond K3s's own when there is more than one default; when
    K3s's is among them, the finding says the servers must disable it."""
    defaults = default_classes(state, homelab)
    if len(defaults) < 2:
        return []
    at = Locator(state, tuple(a.name for a in homelab.apps))
    names = ", ".join(sorted(f"{c.name} ({_who(c)})" for c in defaults))
    from_k3s = any(c.origin.application == "k3s" for c in defaults)
    hint = (
        "K3s re-annotates its local-path class as default on every start: add local-storage to the "
        "servers' `disable` (the catalog's k3s_disable of the service that brings the class)"
        if from_k3s
        else 'leave storageclass.kubernetes.io/is-default-class: "true" on one class only'
    )
    return [
        at.finding(
            "storage",
            c,
            f"{len(defaults)} default StorageClasses: {names}; a claim without a class gets whichever "
            "is newest",
            hint,
        )
        for c in defaults
        if c.origin.application != "k3s"
    ]


def _who(storage_class: DesiredObject) -> str:
    return "K3s" if storage_class.origin.application == "k3s" else storage_class.origin.application
