"""Traefik: the one ingress, on a fixed LoadBalancer IP, HTTP redirected to HTTPS."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
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
