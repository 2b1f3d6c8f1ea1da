"""external-dns: one DNSEndpoint per public route, published to Cloudflare as a proxied CNAME.

Only the `crd` source is enabled, so nothing else in the cluster (Services, Ingresses, the Traefik
IngressRoutes of private routes) can reach the public zone. `sync` lets a route that stops being
public lose its record; the TXT registry keeps external-dns away from records it did not make.
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.catalog.external_dns import TOKEN_ENV, TOKEN_KEY, TOKEN_PATH, TXT_OWNER
from homelabeazy.model.service import ServiceEntry, secret_name
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.objects import Manifest, meta, obj, secret_key_ref
from homelabeazy.render.k8s.services.common import new_bundle, secret_spec, synced_secret


def tunnel_target(homelab: Homelab) -> str:
    """Where every public name points: the tunnel's own name at Cloudflare."""
    tunnel_id = homelab.config.services.cloudflare_tunnel.tunnel_id
    if tunnel_id is None:  # the public-dns check refuses this before render
        raise ValueError("services.cloudflare_tunnel.tunnel_id is missing")
    return f"{tunnel_id}.cfargotunnel.com"


def public_hosts(homelab: Homelab) -> list[str]:
    """The names published on the internet, sorted."""
    return sorted(r.host for r in homelab.routes if r.public)


def values(homelab: Homelab, entry: ServiceEntry) -> dict[str, Any]:
    """Cloudflare, the crd source only, the homelab's domain, proxied records."""
    token = secret_name(secret_spec(entry, TOKEN_PATH))
    return {
        "provider": {"name": "cloudflare"},
        "sources": ["crd"],
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": TXT_OWNER,
        "domainFilters": [homelab.domain],
        "env": [{"name": TOKEN_ENV, "valueFrom": secret_key_ref(token, TOKEN_KEY)}],
        "extraArgs": {"cloudflare-proxied": True},
    }


def endpoints(homelab: Homelab, namespace: str) -> list[Manifest]:
    """One DNSEndpoint per public route: a CNAME to the tunnel."""
    target = tunnel_target(homelab)
    return [
        obj(
            "externaldns.k8s.io/v1alpha1",
            "DNSEndpoint",
            meta(host.removesuffix(f".{homelab.domain}").replace(".", "-"), namespace),
            spec={"endpoints": [{"dnsName": host, "recordType": "CNAME", "targets": [target]}]},
        )
        for host in public_hosts(homelab)
    ]


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Reads DNSEndpoints through the API, writes to Cloudflare's API over HTTPS."""
    result = new_bundle(entry, Needs(api=True, internet_ports=(443,)))
    result.values = values(homelab, entry)
    result.add("endpoints", *endpoints(homelab, entry.namespace))
    result.add("secrets", synced_secret(entry, TOKEN_PATH))
    return result
