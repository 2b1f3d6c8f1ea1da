"""ArgoCD: installed once by `homelab up`, then manages itself from Git (app-of-apps)."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.made import made_beside
from homelabeazy.converge.selectors import as_list, dig
from homelabeazy.converge.state import DesiredObject, DesiredState
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
        creates=redis_secret,
    )


REDIS_SECRET = "argocd-redis"  # noqa: S105 - a resource name
"""The Secret `argocd admin redis-initial-password` creates (key `auth`); every ArgoCD component
reads Redis' password from it."""


def redis_secret(state: DesiredState) -> Iterator[DesiredObject]:
    """The chart's `redis-secret-init` hook Job runs `argocd admin redis-initial-password`, which
    creates the Redis password Secret before the components start."""
    for job in state.of_kind("Job", "batch"):
        for container in as_list(dig(job.doc, "spec", "template", "spec", "containers")):
            if "redis-initial-password" in [str(a) for a in as_list(dig(container, "command"))]:
                yield made_beside(job, "Secret", REDIS_SECRET, keys=("auth",))
