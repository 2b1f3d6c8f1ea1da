"""The service catalog: one module per core service, one registry line each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.catalog import (
    argocd,
    authelia,
    cert_manager,
    cloudflare_tunnel,
    consul,
    dns_gateway,
    efk,
    external_dns,
    external_secrets,
    longhorn,
    metallb,
    monitoring,
    openldap,
    traefik,
    vault,
    velero,
)
from homelabeazy.model.service import (
    COMPANION_PARTS,
    ChartPin,
    OwnedValue,
    RouteSpec,
    SecretSpec,
    ServiceEntry,
)

REGISTRY: dict[str, Callable[[HomelabConfig], ServiceEntry]] = {
    "argocd": argocd.entry,
    "metallb": metallb.entry,
    "cert_manager": cert_manager.entry,
    "longhorn": longhorn.entry,
    "traefik": traefik.entry,
    "openldap": openldap.entry,
    "vault": vault.entry,
    "consul": consul.entry,
    "external_secrets": external_secrets.entry,
    "authelia": authelia.entry,
    "velero": velero.entry,
    "efk": efk.entry,
    "dns_gateway": dns_gateway.entry,
    "cloudflare_tunnel": cloudflare_tunnel.entry,
    "external_dns": external_dns.entry,
    "monitoring": monitoring.entry,
}
"""Service name (its key under `services:`) -> catalog entry builder, in deployment order."""


def service_entry(config: HomelabConfig, name: str) -> ServiceEntry:
    """The catalog entry of service `name`, its chart at the version homelab.yaml chooses
    (`services.<name>.version`; the catalog's tested pin when omitted)."""
    entry = REGISTRY[name](config)
    version = getattr(config.services, name).version
    if version is None or entry.chart is None:
        return entry
    return replace(entry, chart=replace(entry.chart, version=version))


def enabled_entries(config: HomelabConfig) -> tuple[ServiceEntry, ...]:
    """The catalog entries of the services this config enables, in registry order."""
    return tuple(service_entry(config, name) for name in REGISTRY if getattr(config.services, name).enabled)


__all__ = [
    "COMPANION_PARTS",
    "REGISTRY",
    "ChartPin",
    "OwnedValue",
    "RouteSpec",
    "SecretSpec",
    "ServiceEntry",
    "enabled_entries",
    "service_entry",
]
