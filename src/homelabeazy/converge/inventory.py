"""What will exist in the cluster, by kind, namespace and name, for the reference check.

Besides the objects the Applications apply, a Secret also comes from an ExternalSecret (its
target), a cert-manager Certificate (its `secretName`) or a service's operator (the catalog
module of that service says which); every namespace has its `default` ServiceAccount and the
`kube-root-ca.crt` ConfigMap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homelabeazy.converge.sync import applied
from homelabeazy.desired.effective import POD_TEMPLATES
from homelabeazy.desired.selectors import as_list, as_map, dig
from homelabeazy.desired.state import DesiredObject, DesiredState

if TYPE_CHECKING:
    from homelabeazy.model import Homelab

Key = tuple[str, str | None, str]
"""(kind, namespace, name)."""

PER_NAMESPACE = {"ServiceAccount": "default", "ConfigMap": "kube-root-ca.crt"}
"""What Kubernetes creates in every namespace."""
CERTIFICATE_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})


@dataclass
class Inventory:
    """Every object that will exist, and the keys of the Secrets and ConfigMaps (None: unknown)."""

    objects: dict[Key, DesiredObject] = field(default_factory=dict)
    keys: dict[Key, frozenset[str] | None] = field(default_factory=dict)
    opaque: frozenset[str] = frozenset()
    """Namespaces filled from manifests the state cannot see (a user's own folder): anything
    named there may exist."""

    def has(self, kind: str, namespace: str | None, name: str) -> bool:
        """Whether the object will (or, in an opaque namespace, may) exist."""
        if namespace in self.opaque:
            return True
        return (kind, namespace, name) in self.objects or PER_NAMESPACE.get(kind) == name

    def get(self, kind: str, namespace: str | None, name: str) -> DesiredObject | None:
        """The object, when a manifest, chart or operator makes it."""
        return self.objects.get((kind, namespace, name))

    def add(self, kind: str, obj: DesiredObject, name: str, keys: frozenset[str] | None) -> None:
        """Record `kind/name` in `obj`'s namespace; keys of several makers are merged."""
        key = (kind, obj.namespace, name)
        self.objects.setdefault(key, obj)
        if key in self.keys:
            old = self.keys[key]
            self.keys[key] = None if old is None or keys is None else old | keys
        else:
            self.keys[key] = keys


def inventory(
    state: DesiredState, made_by_operators: Iterable[DesiredObject], opaque: frozenset[str] = frozenset()
) -> Inventory:
    """Everything that will exist once the state converges."""
    result = Inventory(opaque=opaque)
    for obj in [*applied(state), *made_by_operators]:
        result.add(obj.kind, obj, obj.name, _data_keys(obj))
        if obj.kind == "ExternalSecret":
            target = dig(obj.doc, "spec", "target", "name") or obj.name
            result.add("Secret", obj, str(target), external_secret_keys(obj.doc))
        elif obj.kind == "Certificate" and obj.group == "cert-manager.io":
            secret = dig(obj.doc, "spec", "secretName")
            if isinstance(secret, str):
                result.add("Secret", obj, secret, CERTIFICATE_KEYS)
    return result


def _data_keys(obj: DesiredObject) -> frozenset[str] | None:
    """Keys of a Secret or ConfigMap; an empty Secret is filled by someone at run time (unknown)."""
    if obj.kind not in ("Secret", "ConfigMap") or obj.group != "":
        return None
    data_fields = ("data", "stringData") if obj.kind == "Secret" else ("data", "binaryData")
    keys = frozenset(k for f in data_fields for k in as_map(obj.doc.get(f)))
    return keys if keys or obj.kind == "ConfigMap" else None


def external_secret_keys(doc: Mapping[str, Any]) -> frozenset[str] | None:
    """Keys of the Secret an ExternalSecret writes (unknown with `dataFrom` or a merged template)."""
    spec = as_map(doc.get("spec"))
    template = as_map(dig(spec, "target", "template"))
    if template.get("data") is not None and template.get("mergePolicy", "Replace") == "Replace":
        return frozenset(as_map(template.get("data")))
    if spec.get("dataFrom"):
        return None
    keys = {str(d.get("secretKey")) for d in as_list(spec.get("data")) if isinstance(d, Mapping)}
    return frozenset(keys | set(as_map(template.get("data"))))


def pod_templates(objects: Iterable[DesiredObject]) -> Iterator[tuple[DesiredObject, Mapping[str, Any]]]:
    """(owner, pod template) for every workload; a bare Pod is its own template."""
    for obj in objects:
        if obj.kind == "Pod" and obj.group == "":
            yield obj, obj.doc
            continue
        path = POD_TEMPLATES.get(obj.kind)
        if path is not None and obj.group in ("apps", "batch"):
            template = dig(obj.doc, *path)
            if isinstance(template, Mapping):
                yield obj, template


def template_labels(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template's labels."""
    return as_map(dig(template, "metadata", "labels"))


def containers(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Init and regular containers of a pod template."""
    spec = as_map(template.get("spec"))
    return [
        c for f in ("initContainers", "containers") for c in as_list(spec.get(f)) if isinstance(c, Mapping)
    ]


@dataclass(frozen=True)
class Unseen:
    """What the state cannot show, so no check judges what depends on it: the one rule that keeps
    a cause reported once. Each check consults it where it would otherwise report an absence."""

    namespaces: frozenset[str] = frozenset()
    """Namespaces whose content is unknown: references, flows and pods into them are not judged."""
    crd_groups: frozenset[str] = frozenset()
    """API groups whose CRDs an Application Helm refused would have installed: a custom resource
    of them without a CRD is that Application's `helm` finding."""


def unseen(state: DesiredState, homelab: Homelab) -> Unseen:
    """What the state cannot show.

    - The namespaces of apps deployed from the user's own manifest folder when the state holds
      none of its files (`homelab render` does not generate them).
    - For every Application whose chart Helm refused (`DesiredState.unrendered`; the `helm` check
      reports it once): its namespace, and the CRD groups its service's catalog entry installs.
    """
    namespaces = set()
    for user_app in homelab.apps:
        source = user_app.config.manifests
        if source is None:
            continue
        folder = source.path.strip("/") + "/"
        if not any(o.origin.file.startswith(folder) for o in state.objects):
            namespaces.add(user_app.namespace)
    groups: set[str] = set()
    for app in (a for a in state.applications if a.name in state.unrendered):
        namespaces.add(app.namespace)
        entry = homelab.service(app.owner) if app.owner is not None else None
        groups.update(entry.crd_groups if entry is not None else ())
    return Unseen(frozenset(namespaces), frozenset(groups))
