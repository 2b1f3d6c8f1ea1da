"""Longhorn: replicated block storage across agents, UI behind SSO."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, RouteSpec, ServiceEntry

CHART = ChartPin("https://charts.longhorn.io", "longhorn", "1.10.1")


def entry(config: HomelabConfig) -> ServiceEntry:
    """Storage comes early so stateful services get replicated volumes from the start."""
    return ServiceEntry(
        name="longhorn",
        title="Longhorn",
        namespace="longhorn-system",
        chart=CHART,
        crd_groups=("longhorn.io",),
        description="Replicated volumes",
        routes=(RouteSpec(config.services.longhorn.host, "longhorn-frontend", 80, "group", ("admins",)),),
    )
