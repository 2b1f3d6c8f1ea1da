"""Semantic checks about names: every DNS record the model will derive must be one name, one place,
and every name a component must reach resolves on its DNS path.

`route-hosts` (services.py) already keeps route hosts inside the domain and apart from each
other; these keep them apart from the other names the LAN resolver answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.checks.services import route_paths
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.schema.fields import MAX_DNS_NAME
from homelabeazy.model.hosts import api_host, in_domain, node_fqdn, record_fqdn, route_fqdn
from homelabeazy.model.ipam import dns_gateway_address, node_address, parse_range
from homelabeazy.model.outside_names import outside_names
from homelabeazy.model.placement import node_names
from homelabeazy.netpolicy.dns_path import DnsPath, Resolution, dns_path


def _derived_names(config: HomelabConfig) -> dict[str, str]:
    """The names the model derives itself (API, nodes), and what each one is."""
    taken = {api_host(config.domain): "the Kubernetes API's name (it resolves to the VIP)"}
    for name in node_names(config.cluster):
        taken[node_fqdn(name, config.domain)] = f"the name of node {name} (it resolves to the node)"
    return taken


@check("dns-names")
def routes_do_not_take_other_names(config: HomelabConfig) -> Iterator[Finding]:
    """A route host or a declared record is neither the API's, a node's nor another's name."""
    taken = _derived_names(config)
    routes: dict[str, str] = {}
    for path, host in route_paths(config):
        fqdn = route_fqdn(host, config.domain)
        if fqdn in taken:
            yield Finding(
                path,
                f"host {fqdn} is {taken[fqdn]}",
                "pick another host: the LAN resolver answers one address per name, and this one "
                "would not reach Traefik",
            )
        elif fqdn is not None:
            routes[fqdn] = "a route's host (it resolves to Traefik)"
    taken = {**routes, **taken}
    for i, record in enumerate(config.network.dns_records):
        fqdn = record_fqdn(record.name, config.domain)
        if fqdn in taken:
            yield Finding(
                ("network", "dns_records", i, "name"),
                f"{fqdn} is {taken[fqdn]}",
                "pick another name: the LAN resolver answers one address per name",
            )
        taken.setdefault(fqdn, "declared earlier in network.dns_records")


@check("dns-name-length")
def every_name_fits_dns(config: HomelabConfig) -> Iterator[Finding]:
    """Every name the LAN resolvers answer is at most 253 characters once the domain is added.

    A route host or a record is checked alone by the schema; the domain it joins can push the
    whole name past what DNS carries, and Unbound and dnsmasq then refuse their whole file.
    """
    too_long = f"is longer than {MAX_DNS_NAME} characters, the most a DNS name can be"
    longest = max((node_fqdn(n, config.domain) for n in node_names(config.cluster)), key=len, default="")
    for name in (api_host(config.domain), longest):
        if len(name) > MAX_DNS_NAME:
            yield Finding(("domain",), f"{name} {too_long}", "use a shorter domain")
            return
    for path, host in route_paths(config):
        fqdn = route_fqdn(host, config.domain)
        if fqdn is not None and len(fqdn) > MAX_DNS_NAME:
            yield Finding(path, f"{fqdn} {too_long}", "use a shorter host")
    for i, record in enumerate(config.network.dns_records):
        fqdn = record_fqdn(record.name, config.domain)
        if len(fqdn) > MAX_DNS_NAME:
            yield Finding(("network", "dns_records", i, "name"), f"{fqdn} {too_long}", "use a shorter name")


@check("dns-records-addresses")
def declared_records_stay_off_the_clusters_addresses(config: HomelabConfig) -> Iterator[Finding]:
    """A declared record's address is not the VIP, a node's or one MetalLB may hand out."""
    cluster = config.cluster
    nodes = {}
    for role, count in (("server", cluster.servers.count), ("agent", cluster.agents.count)):
        for index in range(count):
            try:
                nodes[node_address(cluster.node_ip_range, role, index)] = f"{role} #{index + 1}"
            except ValueError:  # a range too small: the node-range check reports it
                break
    first, last = parse_range(cluster.loadbalancer_range)
    for i, record in enumerate(config.network.dns_records):
        path = ("network", "dns_records", i, "address")
        if record.address == cluster.vip:
            yield Finding(
                path, f"{record.address} is the Kubernetes API VIP", "give it the host's own address"
            )
        elif record.address in nodes:
            yield Finding(
                path,
                f"{record.address} is the address of {nodes[record.address]} of the cluster",
                "give it the host's own address",
            )
        elif first <= record.address <= last:
            yield Finding(
                path,
                f"{record.address} lies in cluster.loadbalancer_range: MetalLB may hand it to a Service",
                "give it an address outside the LoadBalancer range",
            )


def config_dns_path(config: HomelabConfig) -> DnsPath:
    """The homelab's DNS path from homelab.yaml: what the LAN resolver answers, what the gateway serves."""
    local = [(name, what.split(" (")[0]) for name, what in _derived_names(config).items()]
    local += [
        (record_fqdn(r.name, config.domain), r.description or "declared in network.dns_records")
        for r in config.network.dns_records
    ]
    routes = [fqdn for _, host in route_paths(config) if (fqdn := route_fqdn(host, config.domain))]
    return dns_path(
        config.domain,
        local,
        routes,
        config.services.dns_gateway.enabled,
        config.network.dns_servers,
        [vlan.cidr for vlan in config.network.vlans],
    )


@check("dns-path")
def outside_names_resolve(config: HomelabConfig) -> Iterator[Finding]:
    """Every name a component must reach (S3, ACME, Git, SMTP, receivers) resolves on its DNS path."""
    path = config_dns_path(config)
    failing: dict[tuple[tuple[str | int, ...], str], tuple[list[str], Resolution]] = {}
    for name in outside_names(config):
        answer = path.resolve(name.host, name.client)
        if answer.outcome == "nxdomain":
            whos, _ = failing.setdefault((name.path, name.host), ([], answer))
            whos.append(name.who)
    for (field, host), (whos, answer) in failing.items():
        yield Finding(
            field,
            f"{host} would be NXDOMAIN for {', '.join(sorted(whos))}: {answer.detail}",
            _fix(config, host),
            "error" if answer.certain else "warning",
        )


def _fix(config: HomelabConfig, host: str) -> str:
    if config.services.dns_gateway.enabled and in_domain(host, config.domain):
        return (
            f"declare it in network.dns_records with its address (the LAN resolver answers a host override "
            f"before it forwards {config.domain}), or use a name outside {config.domain}"
        )
    return "list only resolvers that carry the homelab's names in network.dns_servers"


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
        "list the resolver that carries network/dns (pfSense's VLAN gateway, say), and no public one: "
        "CoreDNS sends each of the pods' queries to any entry at random",
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
