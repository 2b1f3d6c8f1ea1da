"""Traefik: the one ingress, on a fixed LoadBalancer IP, HTTP redirected to HTTPS."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.converge.selectors import as_list, dig
from homelabeazy.converge.state import DesiredState
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry

CHART = ChartPin("https://traefik.github.io/charts", "traefik", "41.3.0")


def entry(config: HomelabConfig) -> ServiceEntry:
    """The dashboard is admin-only behind Authelia."""
    return ServiceEntry(
        name="traefik",
        title="Traefik",
        namespace="traefik",
        chart=CHART,
        crd_groups=("traefik.io", "hub.traefik.io"),
        description="Ingress controller in front of every route",
        routes=(
            RouteSpec(
                config.services.traefik.dashboard_host,
                "api@internal",
                0,
                "group",
                ("admins",),
                "dashboard_host",
            ),
        ),
        depends_on=("metallb", "cert_manager"),
    )


CROSS_NAMESPACE_ARG = "--providers.kubernetescrd.allowcrossnamespace=true"
"""Without it Traefik ignores an IngressRoute's Service or Middleware in another namespace."""


def allows_cross_namespace(state: DesiredState) -> bool:
    """Whether the Traefik the state deploys lets IngressRoutes name objects of other namespaces
    (the chart passes `providers.kubernetesCRD.allowCrossNamespace` as a container argument)."""
    for deployment in state.of_kind("Deployment", "apps"):
        for container in as_list(dig(deployment.doc, "spec", "template", "spec", "containers")):
            args = [str(a).lower() for a in as_list(dig(container, "args"))]
            if CROSS_NAMESPACE_ARG in args:
                return True
    return False
