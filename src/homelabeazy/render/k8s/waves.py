"""Sync waves, derived from what each Application needs instead of numbered by hand.

The root app applies its children wave by wave and, with the Application health check ArgoCD's
values carry, waits until every child of a wave is healthy before starting the next. So an
Application's wave is one more than the latest wave of what it needs:

- the services its catalog entry depends on (run-time: Authelia binds to OpenLDAP), and
- the services whose CRDs its own manifests use: a custom resource cannot be applied before its
  CRD exists, nor before the admission webhook that validates it answers (a later wave means that
  Application, webhook Deployment included, is already healthy).

Some manifests are not needed for the service itself to run: its routes (ArgoCD and EFK need
not wait for Traefik and cert-manager, whose CRDs a route uses) and cert-manager's ACME issuer
(whose DNS credentials come from Vault through External Secrets, which come after cert-manager).
When such a stem needs a service that does not sync before its bundle, it moves to a companion
Application `<name>-<stem>`, synced right after both.

Inside one Application, the chart's objects sit in resource wave 0; the bundle's own custom
resources that the service's own webhook validates (cert-manager's issuers, MetalLB's pool, the
ESO store, ECK's Elasticsearch) are put in resource wave AFTER_WEBHOOK, so ArgoCD applies them
once the webhook's Deployment is healthy.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from homelabeazy.model import Homelab
from homelabeazy.model.service import COMPANION_PARTS
from homelabeazy.render.k8s.bundle import Bundle
from homelabeazy.render.k8s.objects import Manifest

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
AFTER_WEBHOOK = 1
"""Resource wave of custom resources validated by their own Application's webhook."""
DEFERRABLE = COMPANION_PARTS
"""Manifest stems a service runs without, which may sync in a companion Application."""


def api_group(doc: Manifest) -> str:
    """The API group of a document (empty for the core group)."""
    return str(doc.get("apiVersion", "")).rpartition("/")[0]


def crd_providers(homelab: Homelab) -> dict[str, str]:
    """API group -> the enabled service whose chart installs its CRDs."""
    return {group: entry.name for entry in homelab.services for group in entry.crd_groups}


def stem_needs(bundle: Bundle, stem: str, providers: dict[str, str]) -> set[str]:
    """Services (other than the bundle's own) whose CRDs the stem's documents use."""
    groups = {api_group(doc) for doc in bundle.manifests.get(stem, [])}
    return {providers[g] for g in groups if g in providers} - {bundle.owner}


def service_dependencies(homelab: Homelab, bundles: list[Bundle]) -> dict[str, set[str]]:
    """Service -> the services that must be healthy before it syncs (deferrable stems aside)."""
    providers = crd_providers(homelab)
    enabled = {entry.name for entry in homelab.services}
    graph: dict[str, set[str]] = {}
    for bundle in bundles:
        entry = homelab.service(bundle.owner)
        declared = set(entry.depends_on) if entry is not None else set()
        needed = {
            n
            for stem in bundle.manifests
            if stem not in DEFERRABLE
            for n in stem_needs(bundle, stem, providers)
        }
        graph[bundle.owner] = (declared | needed) & enabled
    return graph


def service_waves(graph: dict[str, set[str]]) -> dict[str, int]:
    """Longest-path level of each service: 0 without dependencies, else one past the latest."""
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        raise ValueError(f"services depend on each other in a cycle: {' -> '.join(err.args[1])}") from err
    waves: dict[str, int] = {}
    for name in order:
        waves[name] = max((waves[d] + 1 for d in graph.get(name, ())), default=0)
    return waves


def _after_own_webhook(homelab: Homelab, bundle: Bundle) -> None:
    """Resource wave AFTER_WEBHOOK for the bundle's own CRs its own webhook validates."""
    entry = homelab.service(bundle.owner)
    if entry is None or not bundle.needs.webhook:
        return
    for documents in bundle.manifests.values():
        for doc in documents:
            if api_group(doc) in entry.crd_groups:
                annotations = doc["metadata"].setdefault("annotations", {})
                annotations.setdefault(WAVE_ANNOTATION, str(AFTER_WEBHOOK))


def _companions(homelab: Homelab, bundle: Bundle, waves: dict[str, int]) -> list[Bundle]:
    """Split off the deferrable stems whose needs do not all sync before the bundle."""
    providers = crd_providers(homelab)
    result: list[Bundle] = []
    for stem in DEFERRABLE:
        needs = stem_needs(bundle, stem, providers)
        if not needs or all(waves[n] < bundle.wave for n in needs):
            continue
        result.append(
            Bundle(
                name=f"{bundle.name}-{stem}",
                owner=bundle.owner,
                namespace=bundle.namespace,
                wave=max(bundle.wave, *(waves[n] for n in needs)) + 1,
                chart=None,
                manifests={stem: bundle.manifests.pop(stem)},
                kind=bundle.kind,
            )
        )
    return result


def plan_waves(homelab: Homelab, services: list[Bundle], apps: list[Bundle]) -> list[Bundle]:
    """Set every bundle's wave; returns services, their companions, then apps (after all of them).

    User apps come last: SSO, certificates and secrets exist before any of them syncs.
    """
    waves = service_waves(service_dependencies(homelab, services))
    companions: list[Bundle] = []
    for bundle in services:
        bundle.wave = waves[bundle.owner]
        _after_own_webhook(homelab, bundle)
        companions += _companions(homelab, bundle, waves)
    app_wave = max((b.wave for b in services + companions), default=-1) + 1
    for app in apps:
        app.wave = app_wave
    return services + companions + apps
