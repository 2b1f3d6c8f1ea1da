"""Semantic checks about names: every DNS record the model will derive must be one name, one place.

`route-hosts` (services.py) already keeps route hosts inside the domain and apart from each
other; these keep them apart from the other names the LAN resolver answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.checks.services import route_paths
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.hosts import api_host, node_fqdn, route_fqdn
from homelabeazy.model.ipam import dns_gateway_address, parse_range
from homelabeazy.model.placement import node_names


@check("dns-names")
def routes_do_not_take_other_names(config: HomelabConfig) -> Iterator[Finding]:
    """A route host is neither the Kubernetes API's name nor a node's: each resolves elsewhere."""
    taken = {api_host(config.domain): "the Kubernetes API's name (it resolves to the VIP)"}
    for name in node_names(config.cluster):
        taken[node_fqdn(name, config.domain)] = f"the name of node {name} (it resolves to the node)"
    for path, host in route_paths(config):
        fqdn = route_fqdn(host, config.domain)
        if fqdn in taken:
            yield Finding(
                path,
                f"host {fqdn} is {taken[fqdn]}",
                "pick another host: the LAN resolver answers one address per name, and this one "
                "would not reach Traefik",
            )


@check("dns-servers-carry-the-names")
def a_dns_server_inside_the_homelab(config: HomelabConfig) -> Iterator[Finding]:
    """The nodes ask `network.dns_servers`; one of them must be a LAN resolver that carries the names."""
    servers = config.network.dns_servers
    if any(server in vlan.cidr for server in servers for vlan in config.network.vlans):
        return
    yield Finding(
        ("network", "dns_servers"),
        f"no DNS server is inside a homelab VLAN ({', '.join(str(s) for s in servers)}): a public "
        f"resolver does not know {api_host(config.domain)} or the route hosts, so the nodes and "
        "`homelab status` will not resolve them",
        "list the resolver that carries network/dns (pfSense's VLAN gateway, say) first; a public one "
        "may follow it",
        "warning",
    )


@check("dns-gateway-address")
def dns_gateway_has_its_own_address(config: HomelabConfig) -> Iterator[Finding]:
    """The DNS gateway's LoadBalancer IP lies in the LoadBalancer range and is not Traefik's."""
    gateway = config.services.dns_gateway
    if not gateway.enabled:
        return
    first, last = parse_range(config.cluster.loadbalancer_range)
    traefik = config.services.traefik.loadbalancer_ip or first
    address = dns_gateway_address(config.cluster.loadbalancer_range, traefik, gateway.loadbalancer_ip)
    path = ("services", "dns_gateway", "loadbalancer_ip")
    if address is None:
        yield Finding(
            ("cluster", "loadbalancer_range"),
            "holds only Traefik's address, none for the DNS gateway",
            "widen the LoadBalancer range by one address",
        )
    elif not first <= address <= last:
        yield Finding(path, f"{address} is outside loadbalancer_range", f"use an address in {first}-{last}")
    elif address == traefik:
        yield Finding(path, f"{address} is Traefik's LoadBalancer IP", "give the DNS gateway its own address")
