"""Ordering as ArgoCD does it: nothing is applied before what it needs exists.

A custom resource whose CRD is not there yet stays Missing (SkipDryRunOnMissingResource only skips
the dry run; the apply still fails) and the root app never leaves that wave. A resource that a
`failurePolicy: Fail` admission webhook intercepts is refused while the webhook's pods are not
serving. An object in a namespace nobody created is refused. An ExternalSecret applied before its
operator and store stays unhealthy, which stalls the wave it belongs to.

Within one Application ArgoCD skips the dry run of a CR whose CRD is in the same sync and applies
CRDs before other kinds of the same (phase, wave), so a CRD in the same step or earlier suffices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.converge.inventory import template_labels
from homelabeazy.converge.sync import Locator, Position, applied, position
from homelabeazy.desired.selectors import as_list, as_map, dig, equality_selects, labels_match
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.catalog import external_secrets

BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
    }
)
"""API groups the Kubernetes API server serves itself (no CRD needed)."""

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
_WEBHOOK_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
_ESO_GROUP = "external-secrets.io"


def check_ordering(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """Every CRD, namespace, webhook and secret store in place before what needs it."""
    at = Locator(state, tuple(a.name for a in homelab.apps))
    objects = applied(state)
    crds = list(_crds(at, objects))
    # A resource whose CRD is late is also late for the CRD's webhook, operator and store: say it once.
    late = {f.object for f in crds}
    return [
        *crds,
        *_namespaces(at, objects),
        *_webhooks(at, objects, late),
        *_external_secrets(at, [o for o in objects if o.ident not in late or o.kind != "ExternalSecret"]),
    ]


# ---------------------------------------------------------------------------- CRDs


def _crds_by_kind(objects: list[DesiredObject]) -> dict[tuple[str, str], list[DesiredObject]]:
    """(group, kind) -> the CRDs in the state that define it."""
    found: dict[tuple[str, str], list[DesiredObject]] = {}
    for crd in (o for o in objects if o.kind == "CustomResourceDefinition"):
        key = (str(dig(crd.doc, "spec", "group")), str(dig(crd.doc, "spec", "names", "kind")))
        found.setdefault(key, []).append(crd)
    return found


def _crds(at: Locator, objects: list[DesiredObject]) -> Iterator[Finding]:
    by_kind = _crds_by_kind(objects)
    for obj in objects:
        if obj.group in BUILTIN_GROUPS:
            continue
        crds = by_kind.get((obj.group, obj.kind), [])
        where = position(obj)
        # No CRD at all is the schema check's finding (nothing to validate against): only a CRD
        # that exists but comes too late is an ordering one.
        if not crds or any(position(c).not_after(where) for c in crds):
            continue
        crd = crds[0]
        message = (
            f"its CRD {crd.name} comes from {_at(crd)}, not before {_at(obj)}"
            if crd.origin.application != obj.origin.application
            else f"its CRD {crd.name} is applied in a later sync wave of {obj.origin.application}"
        )
        hint = "move the resource to a later sync wave than the Application installing its CRD"
        yield at.finding("ordering", obj, message, hint)


# ---------------------------------------------------------------------------- namespaces


def _namespaces(at: Locator, objects: list[DesiredObject]) -> Iterator[Finding]:
    created = _namespace_creators(at.state, objects)
    for obj in objects:
        if obj.namespace is None:
            continue
        where = position(obj)
        if any(p.not_after(where) for p in created.get(obj.namespace, [])):
            continue
        message = f"namespace {obj.namespace} does not exist yet when {_at(obj)} applies it"
        hint = "create the namespace in an earlier wave (a Namespace object or CreateNamespace=true)"
        yield at.finding("ordering", obj, message, hint)


def _namespace_creators(state: DesiredState, objects: list[DesiredObject]) -> dict[str, list[Position]]:
    """Namespace -> positions where it comes into existence."""
    created: dict[str, list[Position]] = {}
    for obj in objects:
        if obj.kind == "Namespace" and obj.group == "":
            created.setdefault(obj.name, []).append(position(obj))
        elif obj.kind == "Application" and obj.group == "argoproj.io" and _creates_namespace(obj.doc):
            target = state.application(obj.name)
            namespace = dig(obj.doc, "spec", "destination", "namespace")
            if target is not None and isinstance(namespace, str):
                # ArgoCD creates the destination namespace before the child's first sync step.
                created.setdefault(namespace, []).append(Position(2, target.wave, target.name, -1, 0))
    return created


def _creates_namespace(doc: Mapping[str, Any]) -> bool:
    options = dig(doc, "spec", "syncPolicy", "syncOptions") or []
    return isinstance(options, list) and "CreateNamespace=true" in options


# ---------------------------------------------------------------------------- admission webhooks


def _webhooks(at: Locator, objects: list[DesiredObject], reported: set[str]) -> Iterator[Finding]:
    plurals = _plurals(objects)
    namespaces = {o.name: o.labels for o in objects if o.kind == "Namespace" and o.group == ""}
    positions = {id(o): position(o) for o in objects}
    for config in (o for o in objects if o.kind in _WEBHOOK_KINDS):
        for hook in as_list(dig(config.doc, "webhooks")):
            if not isinstance(hook, Mapping) or hook.get("failurePolicy", "Fail") != "Fail":
                continue
            service = dig(hook, "clientConfig", "service")
            if not isinstance(service, Mapping):
                continue
            servers = _servers(objects, str(service.get("namespace", "")), str(service.get("name", "")))
            registered, serving = positions[id(config)], [positions[id(s)] for s in servers]
            for obj in objects:
                where = positions[id(obj)]
                if obj.kind in _WEBHOOK_KINDS or obj.ident in reported or where.before(registered):
                    continue
                if not _intercepts(hook, obj, plurals, namespaces):
                    continue
                if any(s.before(where) for s in serving):
                    continue
                message = _webhook_problem(obj, config, hook, servers)
                hint = "apply the resource in a later sync wave than the webhook's Deployment"
                yield at.finding("ordering", obj, message, hint)


def _webhook_problem(
    obj: DesiredObject, config: DesiredObject, hook: Mapping[str, Any], servers: list[DesiredObject]
) -> str:
    name = f"admission webhook {hook.get('name', '?')} ({config.ident})"
    if servers:
        return f"{name} is served by {servers[0].ident}, not ready before {_at(obj)}"
    return f"{name} has no Deployment serving it"


def _servers(objects: list[DesiredObject], namespace: str, name: str) -> list[DesiredObject]:
    """Workloads whose pods back Service `namespace/name`."""
    service = next(
        (o for o in objects if o.kind == "Service" and o.namespace == namespace and o.name == name), None
    )
    selector = dig(service.doc, "spec", "selector") if service is not None else None
    if not isinstance(selector, Mapping) or not selector:
        return []
    return [
        o
        for o in objects
        if o.kind in WORKLOAD_KINDS
        and o.namespace == namespace
        and equality_selects(selector, template_labels(as_map(dig(o.doc, "spec", "template"))))
    ]


def _intercepts(
    hook: Mapping[str, Any],
    obj: DesiredObject,
    plurals: Mapping[tuple[str, str], str],
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    """Whether the webhook is called when `obj` is created."""
    resource = plurals.get((obj.group, obj.kind), _plural(obj.kind))
    if not any(_rule_matches(r, obj, resource) for r in as_list(hook.get("rules"))):
        return False
    if not labels_match(hook.get("objectSelector"), obj.labels):
        return False
    if obj.namespace is None:
        return True
    ns_labels = {"kubernetes.io/metadata.name": obj.namespace, **namespaces.get(obj.namespace, {})}
    return labels_match(hook.get("namespaceSelector"), ns_labels)


def _rule_matches(rule: Any, obj: DesiredObject, resource: str) -> bool:
    if not isinstance(rule, Mapping):
        return False
    operations = as_list(rule.get("operations"))
    groups = as_list(rule.get("apiGroups"))
    resources = as_list(rule.get("resources"))
    scope = rule.get("scope", "*")
    if (scope == "Namespaced" and obj.namespace is None) or (
        scope == "Cluster" and obj.namespace is not None
    ):
        return False
    return (
        ("CREATE" in operations or "*" in operations)
        and ("*" in groups or obj.group in groups)
        and any(r in ("*", "*/*", resource, f"{resource}/*") for r in resources)
    )


def _plurals(objects: list[DesiredObject]) -> dict[tuple[str, str], str]:
    """(group, kind) -> resource name, from the CRDs in the state."""
    plurals: dict[tuple[str, str], str] = {}
    for crd in (o for o in objects if o.kind == "CustomResourceDefinition"):
        group, kind = dig(crd.doc, "spec", "group"), dig(crd.doc, "spec", "names", "kind")
        plural = dig(crd.doc, "spec", "names", "plural")
        if isinstance(group, str) and isinstance(kind, str) and isinstance(plural, str):
            plurals[(group, kind)] = plural
    return plurals


def _plural(kind: str) -> str:
    """The resource name of a built-in kind (`NetworkPolicy` -> `networkpolicies`)."""
    lower = kind.lower()
    if lower.endswith("s"):
        return lower if lower == "endpoints" else lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


# ---------------------------------------------------------------------------- ExternalSecrets


def _external_secrets(at: Locator, objects: list[DesiredObject]) -> Iterator[Finding]:
    # The operator (controller, webhook, cert controller) is every workload of its namespace.
    operator = [o for o in objects if o.kind in WORKLOAD_KINDS and o.namespace == external_secrets.NAMESPACE]
    for es in (o for o in objects if o.kind == "ExternalSecret" and o.group == _ESO_GROUP):
        where = position(es)
        late = [
            w
            for w in operator
            if w.origin.application != es.origin.application and not position(w).before(where)
        ]
        if late:
            message = f"the External Secrets operator ({late[0].ident}) is not running before {_at(es)}"
            hint = "give the Application a later sync wave than external-secrets"
            yield at.finding("ordering", es, message, hint)
        store = _store_of(objects, es)
        if store is not None and not position(store).not_after(where):
            message = f"its store {store.ident} comes from {_at(store)}, not before {_at(es)}"
            hint = "apply the store in an earlier sync wave"
            yield at.finding("ordering", es, message, hint)


def _store_of(objects: list[DesiredObject], es: DesiredObject) -> DesiredObject | None:
    ref = dig(es.doc, "spec", "secretStoreRef")
    if not isinstance(ref, Mapping):
        return None
    kind = str(ref.get("kind", "SecretStore"))
    namespace = None if kind == "ClusterSecretStore" else es.namespace
    name = str(ref.get("name", ""))
    return next(
        (
            o
            for o in objects
            if o.group == _ESO_GROUP and o.kind == kind and o.namespace == namespace and o.name == name
        ),
        None,
    )


# ---------------------------------------------------------------------------- helpers


def _at(obj: DesiredObject) -> str:
    """`application cert-manager (wave 1)` or `the bootstrap`."""
    if obj.origin.source == "cluster":
        return "K3s"
    if obj.origin.source == "bootstrap":
        return "the bootstrap"
    return f"application {obj.origin.application} (wave {obj.origin.wave})"
