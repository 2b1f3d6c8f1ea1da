"""Consul: service discovery (catalog sync of every Kubernetes service) and DNS."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import STORAGE, ChartPin, RouteSpec, SecretSpec, ServiceEntry

CHART = ChartPin("https://helm.releases.hashicorp.com", "consul", "1.9.1")


def entry(config: HomelabConfig) -> ServiceEntry:
    """Gossip traffic is encrypted with a generated key."""
    return ServiceEntry(
        name="consul",
        title="Consul",
        namespace="consul",
        chart=CHART,
        description="Service discovery and DNS",
        routes=(RouteSpec(config.services.consul.host, "consul-ui", 80, "group", ("admins",)),),
        secrets=(SecretSpec("consul/gossip", ("key",), "consul", "gossip encryption key"),),
        depends_on=(STORAGE,),
    )
