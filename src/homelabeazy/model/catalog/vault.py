"""Vault: HA raft storage, UI behind Traefik; the store of every generated secret."""

from __future__ import annotations

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog.base import STORAGE, ChartPin, RouteSpec, ServiceEntry

CHART = ChartPin("https://helm.releases.hashicorp.com", "vault", "0.34.1")


def entry(config: HomelabConfig) -> ServiceEntry:
    """Vault's own UI login is the gate; Authelia in front would break the API clients.

    It waits for Traefik: `homelab up` initialises and unseals Vault through its route, and Vault
    is not healthy (so the root app goes no further) until that has happened.
    """
    return ServiceEntry(
        name="vault",
        title="Vault",
        namespace="vault",
        chart=CHART,
        description="Secrets store (HA raft)",
        routes=(RouteSpec(config.services.vault.host, "vault-ui", 8200, "public"),),
        depends_on=(STORAGE, "traefik"),
    )
