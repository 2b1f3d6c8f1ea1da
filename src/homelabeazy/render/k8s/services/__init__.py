"""One module per core service: its chart values, extra manifests and network needs.

Each exposes `bundle(homelab, entry) -> Bundle`; REGISTRY maps the catalog name to it. Routes,
their certificates and the namespace's NetworkPolicies are added by the caller for every bundle
alike, so a service module holds only what is particular to that service.
"""

from __future__ import annotations

from collections.abc import Callable

from homelabeazy.model import Homelab
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.k8s.bundle import Bundle
from homelabeazy.render.k8s.services import (
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

BundleBuilder = Callable[[Homelab, ServiceEntry], Bundle]

REGISTRY: dict[str, BundleBuilder] = {
    "argocd": argocd.bundle,
    "metallb": metallb.bundle,
    "cert_manager": cert_manager.bundle,
    "longhorn": longhorn.bundle,
    "traefik": traefik.bundle,
    "openldap": openldap.bundle,
    "vault": vault.bundle,
    "consul": consul.bundle,
    "external_secrets": external_secrets.bundle,
    "authelia": authelia.bundle,
    "velero": velero.bundle,
    "efk": efk.bundle,
    "dns_gateway": dns_gateway.bundle,
    "cloudflare_tunnel": cloudflare_tunnel.bundle,
    "external_dns": external_dns.bundle,
    "monitoring": monitoring.bundle,
}
"""Catalog name -> bundle builder; a catalog entry without one here is a bug a test catches."""
