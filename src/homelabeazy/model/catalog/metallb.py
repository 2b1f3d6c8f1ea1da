"""MetalLB: hands out LoadBalancer IPs from the configured range on the services VLAN (L2)."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import ChartPin, ServiceEntry

CHART = ChartPin("https://metallb.github.io/metallb", "metallb", "0.15.2")


def entry(config: HomelabConfig) -> ServiceEntry:  # noqa: ARG001 - uniform catalog signature
    """No routes and no secrets: it only announces addresses."""
    return ServiceEntry(
        name="metallb",
        title="MetalLB",
        namespace="metallb-system",
        chart=CHART,
        crd_groups=("metallb.io",),
        description="LoadBalancer IPs on the services VLAN (layer 2)",
    )
