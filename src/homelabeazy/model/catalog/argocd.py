"""ArgoCD: installed once by `homelab up`, then manages itself from Git (app-of-apps)."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry

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
    )
