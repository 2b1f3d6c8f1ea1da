"""The Homelab: the derived, immutable view every renderer and lifecycle step reads.

Every fact (an address, a host name, a chart version, a Vault path) is computed once here, in
`build.py`, and read everywhere else; nothing downstream re-derives it from the raw config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from homelabeazy.config.schema import AppConfig, GroupConfig, HomelabConfig, NetworkConfig, UserConfig
from homelabeazy.model.etcd_snapshots import EtcdSnapshotPlan
from homelabeazy.model.identity import LdapLayout
from homelabeazy.model.k3s_config import K3sServerSettings
from homelabeazy.model.service import Access, SecretSpec, ServiceEntry

Role = Literal["server", "agent"]


@dataclass(frozen=True)
class Zone:
    """A VLAN as a network zone."""

    name: str
    vlan_id: int
    cidr: IPv4Network
    gateway: IPv4Address
    purpose: str


def zones_of(network: NetworkConfig) -> tuple[Zone, ...]:
    """The zones of a validated `network:` section; the one derivation the model and netpolicy share."""
    return tuple(Zone(v.name, v.id, v.cidr, v.gateway, v.purpose) for v in network.vlans)


@dataclass(frozen=True)
class Node:
    """One K3s node VM."""

    name: str
    role: Role
    index: int
    vmid: int
    host: str
    ip: IPv4Address
    prefix_len: int
    gateway: IPv4Address
    vlan_id: int
    cores: int
    memory_mb: int
    disk_gb: int
    fqdn: str

    @property
    def cidr(self) -> str:
        """Address with prefix, as cloud-init wants it (10.10.10.20/24)."""
        return f"{self.ip}/{self.prefix_len}"


@dataclass(frozen=True)
class Route:
    """A host served by Traefik: who owns it, where it goes, who may open it."""

    host: str
    owner: str
    namespace: str
    backend: str
    port: int
    access: Access
    groups: tuple[str, ...]
    kind: Literal["service", "app"]
    public: bool = False
    """Published on the internet (Cloudflare DNS record and tunnel); reached through Traefik still."""

    @property
    def protected(self) -> bool:
        """Whether the Authelia middleware guards this route."""
        return self.access != "public"


@dataclass(frozen=True)
class App:
    """A user application with its resolved namespace and route."""

    name: str
    namespace: str
    config: AppConfig
    route: Route | None
    values: dict[str, Any] | None = field(default=None, compare=False)
    """The chart's values (the user's, completed for a well-known chart); None for a manifests app."""


@dataclass(frozen=True)
class DnsRecord:
    """One A record the LAN resolver must answer, and why: every DNS file and check reads these."""

    name: str
    address: IPv4Address
    purpose: str
    """What answers there, for the rendered comments and `homelab net` (`route of vault via Traefik`)."""
    port: int
    """The TCP port a client opens there (443 on Traefik, 6443 on the API, 22 on a node)."""
    kind: Literal["api", "node", "route", "host"]
    """Routes may be answered by the in-cluster DNS gateway; the API and nodes never (it runs on
    them), nor the hosts of `network.dns_records` (outside the cluster: the S3 store must resolve
    while the cluster is down, to restore it)."""


@dataclass(frozen=True)
class Cluster:
    """The K3s cluster's resolved facts."""

    k3s_version: str
    kubernetes_version: str
    vip: IPv4Address
    api_host: str
    loadbalancer_first: IPv4Address
    loadbalancer_last: IPv4Address
    traefik_ip: IPv4Address
    dns_gateway_ip: IPv4Address | None
    """k8s-gateway's LoadBalancer IP when `services.dns_gateway` is on."""
    ssh_user: str
    ssh_keys: tuple[str, ...]
    airgap: bool
    etcd_snapshots: EtcdSnapshotPlan
    """Scheduled etcd snapshots and their S3 copy (model/etcd_snapshots.py)."""
    k3s_server_settings: K3sServerSettings
    """What every server's K3s config.yaml carries besides its own lines (model/k3s_config.py)."""


@dataclass(frozen=True)
class Homelab:
    """Everything derived from one homelab.yaml."""

    name: str
    domain: str
    timezone: str
    config: HomelabConfig
    zones: tuple[Zone, ...]
    services_zone: Zone
    nodes: tuple[Node, ...]
    cluster: Cluster
    services: tuple[ServiceEntry, ...]
    apps: tuple[App, ...]
    routes: tuple[Route, ...]
    secrets: tuple[SecretSpec, ...]
    users: tuple[UserConfig, ...]
    groups: tuple[GroupConfig, ...]
    ldap: LdapLayout
    vault_kv_mount: str
    dns: tuple[DnsRecord, ...]
    """The API name, every node, every route host and every `network.dns_records` name with its
    address, in that order."""

    @property
    def servers(self) -> tuple[Node, ...]:
        """Control-plane nodes, in order."""
        return tuple(n for n in self.nodes if n.role == "server")

    @property
    def agents(self) -> tuple[Node, ...]:
        """Worker nodes, in order."""
        return tuple(n for n in self.nodes if n.role == "agent")

    def service(self, name: str) -> ServiceEntry | None:
        """The enabled service called `name`, or None when it is disabled."""
        for entry in self.services:
            if entry.name == name:
                return entry
        return None

    def enabled(self, name: str) -> bool:
        """Whether the core service `name` is deployed."""
        return self.service(name) is not None

    def zone(self, name: str) -> Zone | None:
        """The zone called `name`."""
        for zone in self.zones:
            if zone.name == name:
                return zone
        return None
