"""Consul: service discovery (catalog sync of every Kubernetes service) and DNS."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.service import STORAGE, ChartPin, OwnedValue, RouteSpec, SecretSpec, ServiceEntry

CHART = ChartPin("https://helm.releases.hashicorp.com", "consul", "1.9.1")


OWNED_VALUES: tuple[OwnedValue, ...] = (
    OwnedValue(("global", "name"), "the routes and NetworkPolicies name Consul's objects `consul-*`"),
    OwnedValue(("global", "gossipEncryption"), "the gossip key is the one kept in Vault (`consul-gossip`)"),
    OwnedValue(
        ("server", "replicas"),
        "it has its own key",
        "set it through services.consul.replicas instead",
    ),
    OwnedValue(
        ("syncCatalog", "enabled"),
        "it has its own key",
        "set it through services.consul.sync_catalog instead",
    ),
)
"""Chart values the homelab depends on: `services.consul.values` may not set them."""


def entry(config: HomelabConfig) -> ServiceEntry:
    """Gossip traffic is encrypted with a generated key."""
    return ServiceEntry(
        name="consul",
        title="Consul",
        namespace="consul",
        chart=CHART,
        owned_values=OWNED_VALUES,
        description="Service discovery and DNS",
        routes=(RouteSpec(config.services.consul.host, "consul-ui", 80, "group", ("admins",)),),
        secrets=(SecretSpec("consul/gossip", ("key",), "consul", "gossip encryption key"),),
        depends_on=(STORAGE,),
    )
