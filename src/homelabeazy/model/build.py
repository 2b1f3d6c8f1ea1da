"""Build the Homelab from a validated config: the single place facts are derived."""

from __future__ import annotations

import re
from dataclasses import replace
from ipaddress import IPv4Address

from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model import etcd_snapshots, k3s_config
from homelabeazy.model.catalog import enabled_entries
from homelabeazy.model.catalog.apps import AppFacts, app_values
from homelabeazy.model.homelab import App, Cluster, DnsRecord, Homelab, Node, Route, Zone, zones_of
from homelabeazy.model.hosts import (
    API_PORT,
    HTTPS_PORT,
    SSH_PORT,
    api_host,
    node_fqdn,
    record_fqdn,
    route_fqdn,
)
from homelabeazy.model.identity import ldap_layout
from homelabeazy.model.ipam import dns_gateway_address, node_address, node_vmid, parse_range
from homelabeazy.model.node_setup import k3s_disabled
from homelabeazy.model.placement import place_nodes
from homelabeazy.model.service import SecretSpec, ServiceEntry

K3S_TOKEN = SecretSpec("cluster/k3s", ("token",), "k3s", "K3s join token shared by every node")


def build(config: HomelabConfig) -> Homelab:
    """Derive the immutable Homelab. The config must have passed `load_config` (checks included)."""
    zones = zones_of(config.network)
    services_zone = next(z for z in zones if z.purpose == "services")
    nodes = _nodes(config, services_zone)
    services = enabled_entries(config)
    apps = tuple(_app(config, app_index) for app_index in range(len(config.apps)))
    routes = _with_public_portal(
        tuple(_service_routes(config, services)) + tuple(a.route for a in apps if a.route is not None)
    )
    secrets = (K3S_TOKEN, *(s for entry in services for s in entry.secrets), *_user_secrets(config))
    lb_first, lb_last = parse_range(config.cluster.loadbalancer_range)
    traefik_ip = config.services.traefik.loadbalancer_ip or lb_first
    cluster = Cluster(
        k3s_version=config.cluster.k3s_version,
        kubernetes_version=_kubernetes_version(config.cluster.k3s_version),
        vip=config.cluster.vip,
        api_host=api_host(config.domain),
        loadbalancer_first=lb_first,
        loadbalancer_last=lb_last,
        traefik_ip=traefik_ip,
        dns_gateway_ip=_dns_gateway_ip(config, traefik_ip),
        ssh_user=config.cluster.ssh.user,
        ssh_keys=tuple(config.cluster.ssh.public_keys),
        airgap=config.cluster.airgap,
        etcd_snapshots=etcd_snapshots.plan(config),
        k3s_server_settings=k3s_config.server_settings(config, k3s_disabled(services)),
    )
    return Homelab(
        name=config.name,
        domain=config.domain,
        timezone=config.timezone,
        config=config,
        zones=zones,
        services_zone=services_zone,
        nodes=nodes,
        cluster=cluster,
        services=services,
        apps=apps,
        routes=routes,
        secrets=secrets,
        users=tuple(config.users),
        groups=tuple(config.groups),
        ldap=ldap_layout(config.domain),
        vault_kv_mount=config.services.vault.kv_mount,
        dns=_dns_records(cluster, nodes, routes, config),
    )


def _dns_records(
    cluster: Cluster, nodes: tuple[Node, ...], routes: tuple[Route, ...], config: HomelabConfig
) -> tuple[DnsRecord, ...]:
    """Where each name points: the API at kube-vip's VIP, a node at itself, a route at Traefik, a
    declared host (`network.dns_records`) where it says.

    Every route goes to Traefik's LoadBalancer address, which picks the backend by host name; the
    `route-hosts` and `dns-names` checks make the names unique before this runs.
    """
    return (
        DnsRecord(cluster.api_host, cluster.vip, "Kubernetes API (kube-vip VIP)", API_PORT, "api"),
        *(DnsRecord(n.fqdn, n.ip, f"K3s {n.role} node {n.name}", SSH_PORT, "node") for n in nodes),
        *(
            DnsRecord(r.host, cluster.traefik_ip, f"route of {r.owner} via Traefik", HTTPS_PORT, "route")
            for r in routes
        ),
        *(
            DnsRecord(
                record_fqdn(d.name, config.domain),
                d.address,
                d.description or "declared in network.dns_records",
                d.port,
                "host",
            )
            for d in config.network.dns_records
        ),
    )


def _dns_gateway_ip(config: HomelabConfig, traefik_ip: IPv4Address) -> IPv4Address | None:
    gateway = config.services.dns_gateway
    if not gateway.enabled:
        return None
    return dns_gateway_address(config.cluster.loadbalancer_range, traefik_ip, gateway.loadbalancer_ip)


def _kubernetes_version(k3s_version: str) -> str:
    """`v1.33.5+k3s1` -> `1.33.5`: the Kubernetes release manifests are validated against."""
    match = re.match(r"^v(\d+\.\d+\.\d+)", k3s_version)
    return match.group(1) if match else k3s_version


def _nodes(config: HomelabConfig, zone: Zone) -> tuple[Node, ...]:
    nodes = []
    for placed in place_nodes(config.cluster, config.proxmox):
        role = placed.role
        nodes.append(
            Node(
                name=placed.name,
                role=role,
                index=placed.index,
                vmid=node_vmid(config.proxmox.vmid_start, role, placed.index),
                host=placed.host,
                ip=node_address(config.cluster.node_ip_range, role, placed.index),
                prefix_len=zone.cidr.prefixlen,
                gateway=zone.gateway,
                vlan_id=zone.vlan_id,
                cores=placed.cores,
                memory_mb=placed.memory_mb,
                disk_gb=placed.disk_gb,
                fqdn=node_fqdn(placed.name, config.domain),
            )
        )
    return tuple(nodes)


def _fqdn(host: str, domain: str) -> str:
    fqdn = route_fqdn(host, domain)
    if fqdn is None:  # the route-hosts check rejects this before build() is called
        raise ValueError(f"{host} is outside {domain}")
    return fqdn


def _service_routes(config: HomelabConfig, services: tuple[ServiceEntry, ...]) -> list[Route]:
    routes = []
    for entry in services:
        for spec in entry.routes:
            if spec.access != "public" and not config.services.authelia.enabled:
                continue  # an admin UI without SSO in front stays unrouted (port-forward); see the check
            routes.append(
                Route(
                    _fqdn(spec.host, config.domain),
                    entry.name,
                    entry.namespace,
                    spec.backend,
                    spec.port,
                    spec.access,
                    spec.groups,
                    "service",
                )
            )
    return routes


def _with_public_portal(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """A public route behind SSO sends its visitors to Authelia's portal, so the portal is public too."""
    if not any(r.public and r.protected for r in routes):
        return routes
    return tuple(
        replace(r, public=True) if r.owner == "authelia" and r.kind == "service" else r for r in routes
    )


def _app(config: HomelabConfig, index: int) -> App:
    app = config.apps[index]
    namespace = app.namespace or app.name
    route = None
    if app.host is not None:
        route = Route(
            _fqdn(app.host, config.domain),
            app.name,
            namespace,
            app.service or app.name,
            app.port,
            app.access,
            tuple(app.groups),
            "app",
            public=app.public,
        )
    values = None
    if app.chart is not None:
        values = app_values(app.chart.repo, app.chart.name, app.chart.values, app_facts(route))
    return App(app.name, namespace, app, route, values)


def app_facts(route: Route | None) -> AppFacts:
    """What a well-known app chart may need to know of its app: the one derivation, for the values
    the model completes and for the outcomes the proof checks."""
    return AppFacts(hosts=(route.host,) if route is not None else ())


def _user_secrets(config: HomelabConfig) -> list[SecretSpec]:
    return [
        SecretSpec(
            f"users/{user.username}", ("password",), "openldap", f"initial password of {user.username}"
        )
        for user in config.users
    ]
