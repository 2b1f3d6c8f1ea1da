"""ArgoCD: installed once by `homelab up`, then manages itself from Git (app-of-apps)."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.needs import Clients, FlowNeed, need_from_url
from homelabeazy.converge.state import DesiredState
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry

CHART = ChartPin("https://argoproj.github.io/argo-helm", "argo-cd", "9.1.4")


def entry(config: HomelabConfig) -> ServiceEntry:
    """ArgoCD's UI sits behind SSO for the admins group; it has its own login as well."""
    return ServiceEntry(
        name="argocd",
        title="ArgoCD",
        namespace="argocd",
        chart=CHART,
        wave=0,
        description="GitOps controller syncing this repository into the cluster",
        routes=(RouteSpec(config.services.argocd.host, "argocd-server", 80, "group", ("admins",)),),
    )


REPO_SERVER_LABELS = {"app.kubernetes.io/name": "argocd-repo-server"}
"""The chart's repo-server pods: they clone Git sources and pull Helm charts."""


def flow_needs(state: DesiredState, config: HomelabConfig) -> Iterator[FlowNeed]:
    """The repo-server fetches every Application source: Git repositories and Helm repositories."""
    clients = Clients(entry(config).namespace, REPO_SERVER_LABELS, "the ArgoCD repo-server")
    seen: set[str] = set()
    for app in state.of_kind("Application", "argoproj.io"):
        spec = app.doc.get("spec") or {}
        sources = [spec["source"]] if spec.get("source") else list(spec.get("sources") or ())
        for source in sources:
            url = str(source.get("repoURL") or "")
            if not url or url.startswith("oci://") or url in seen:
                continue
            seen.add(url)
            kind = "Helm repository" if source.get("chart") else "Git repository"
            yield need_from_url(url, clients, f"{kind} {url}", app)
