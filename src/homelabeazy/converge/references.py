"""Every reference resolves: what a pod, Service, route, Certificate or ExternalSecret names exists.

A dangling name is the quietest way a homelab fails to come up: ArgoCD applies everything, reports
Synced, and the pod waits forever for a Secret nobody makes. The existence of things is read from
the whole desired state (`inventory`), including what a service's operator makes (its catalog
module's `creates`); this module only matches names.
"""

from __future__ import annotations

from collections.abc import Iterable

from homelabeazy.converge.inventory import Inventory, Unseen, inventory, pod_templates, unseen
from homelabeazy.converge.pod_refs import pod_refs, unresolved
from homelabeazy.converge.route_refs import (
    Problem,
    certificate_problems,
    ingress_problems,
    ingress_route_problems,
    service_problems,
)
from homelabeazy.converge.secret_refs import external_secret_problems
from homelabeazy.converge.sync import Locator, applied
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab
from homelabeazy.model.catalog import traefik

_POD_HINTS = {
    "Secret": "render a Secret, an ExternalSecret or a Certificate that makes it, or mark it optional",
    "ConfigMap": "render the ConfigMap, or mark the reference optional",
    "PersistentVolumeClaim": "render the PersistentVolumeClaim (or use volumeClaimTemplates)",
    "ServiceAccount": "render the ServiceAccount (the chart's serviceAccount.create)",
}


def check_references(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """Every name an object uses resolves to something that will exist."""
    objects = applied(state)
    made = [o for entry in homelab.services if entry.creates is not None for o in entry.creates(state)]
    blind = unseen(state, homelab)
    have = inventory(state, made, blind.namespaces)
    at = Locator(state, tuple(a.name for a in homelab.apps))
    problems: list[Problem] = [
        *_pod_problems(objects, have),
        *service_problems([*objects, *(o for o in made if o.kind == "Pod")]),
        *ingress_route_problems(objects, have, _cross_namespace(state, homelab, blind)),
        *ingress_problems(objects, have),
        *certificate_problems(objects, have),
        *external_secret_problems(objects, have, homelab),
    ]
    return [at.finding("reference", obj, message, hint) for obj, message, hint in problems]


def _cross_namespace(state: DesiredState, homelab: Homelab, blind: Unseen) -> bool:
    """Whether Traefik follows references into other namespaces; unknown (so not judged: taken as
    yes) when Traefik's own chart is what the state cannot show."""
    entry = homelab.service("traefik")
    unknown = entry is not None and entry.namespace in blind.namespaces
    return unknown or traefik.allows_cross_namespace(state)


def _pod_problems(objects: Iterable[DesiredObject], have: Inventory) -> list[Problem]:
    problems: list[Problem] = []
    for owner, template in pod_templates(objects):
        seen: set[str] = set()
        for ref in pod_refs(owner, template):
            message = unresolved(ref, owner.namespace, have)
            if message is not None and message not in seen:
                seen.add(message)
                problems.append((owner, message, _POD_HINTS.get(ref.kind, "")))
    return problems
