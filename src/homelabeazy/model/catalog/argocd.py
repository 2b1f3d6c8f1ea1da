"""ArgoCD: installed once by `homelab up`, then manages itself from Git (app-of-apps)."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.state import DesiredState, Finding
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry
from homelabeazy.model.catalog.traps import health_finding, mapping

CHART = ChartPin("https://argoproj.github.io/argo-helm", "argo-cd", "9.1.4")


def entry(config: HomelabConfig) -> ServiceEntry:
    """ArgoCD's UI sits behind SSO for the admins group; it has its own login as well."""
    return ServiceEntry(
        name="argocd",
        title="ArgoCD",
        namespace="argocd",
        chart=CHART,
        crd_groups=("argoproj.io",),
        description="GitOps controller syncing this repository into the cluster",
        routes=(RouteSpec(config.services.argocd.host, "argocd-server", 80, "group", ("admins",)),),
        health_checks=(application_health_restored,),
    )


APPLICATION_HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
"""argocd-cm key of a Lua health check for Applications (none is built in since ArgoCD 1.8)."""
SETTINGS_CONFIGMAP = "argocd-cm"


def application_health_restored(state: DesiredState) -> Iterator[Finding]:
    """argocd-cm assesses a child Application's health from its own status.

    Without that, ArgoCD calls an Application healthy as soon as it exists, so the root app runs
    through every sync wave at once and a CR may arrive before the CRD a previous wave installs.
    """
    for config_map in state.of_kind("ConfigMap", ""):
        if config_map.name != SETTINGS_CONFIGMAP:
            continue
        script = str(mapping(config_map.doc.get("data")).get(APPLICATION_HEALTH_KEY, ""))
        if "obj.status.health" not in script:
            yield health_finding(
                config_map,
                "argocd",
                "no health check for argoproj.io/Application: the root app does not wait for one sync "
                "wave to be healthy before the next",
                f"set {APPLICATION_HEALTH_KEY} to a Lua check returning obj.status.health",
            )
