"""k8s-gateway: the route names from the model, answered in the cluster on a MetalLB address.

The chart's Corefile runs, in CoreDNS's fixed plugin order, `hosts` before `k8s_gateway`: our
`hosts` block answers every route host with Traefik's address and falls through, so k8s_gateway
still answers LoadBalancer Services and Ingresses by name. Nothing is forwarded upstream: pfSense
sends only this domain here. k8s_gateway's own `fallthrough` stays off: the only resolver that
knows the domain's other names is the one that forwards the domain here, so falling through would
loop. Those names (an S3 store on the NAS) are `network.dns_records`, which pfSense answers as host
overrides before it forwards (the `dns-path` check holds every name a component needs to that).
"""

from __future__ import annotations

from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.model.service import ServiceEntry
from homelabeazy.render.dns import TTL
from homelabeazy.render.k8s.bundle import Bundle, Needs
from homelabeazy.render.k8s.services.common import new_bundle

DNS_PORT = 1053
"""The chart's container port for DNS (the Service maps 53 to it)."""


def route_records(homelab: Homelab) -> list[str]:
    """`address name` lines for CoreDNS's hosts plugin: every route, at Traefik's address."""
    return [f"{homelab.cluster.traefik_ip} {route.host}" for route in homelab.routes]


def values(homelab: Homelab) -> dict[str, Any]:
    """The chart's default plugins minus `forward`, `loop` and `prometheus`, plus our `hosts` block."""
    address = homelab.cluster.dns_gateway_ip
    hosts = "\n".join([*route_records(homelab), f"ttl {TTL}", "fallthrough"])
    return {
        "domain": homelab.domain,
        "ttl": TTL,
        "service": {
            "type": "LoadBalancer",
            "port": 53,
            "annotations": {"metallb.io/loadBalancerIPs": str(address)},
        },
        "extraZonePlugins": [
            {"name": "log"},
            {"name": "errors"},
            {"name": "health", "configBlock": "lameduck 5s"},
            {"name": "ready"},
            {"name": "hosts", "configBlock": hosts},
            {"name": "reload"},
            {"name": "loadbalance"},
        ],
    }


def bundle(homelab: Homelab, entry: ServiceEntry) -> Bundle:
    """Asked by anyone on the LAN (pfSense forwards to it); reads Services and Ingresses from the API."""
    result = new_bundle(entry, Needs(api=True, world_udp_ports=(DNS_PORT,)))
    result.values = values(homelab)
    return result
