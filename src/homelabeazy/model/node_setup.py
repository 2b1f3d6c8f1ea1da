"""What every K3s node's operating system gets beyond K3s itself, decided once from the model.

- the host needs of the enabled services (their union: what the node role installs, enables, loads);
- the K3s packaged components the servers disable (ours always, plus those an enabled service
  replaces: Longhorn's default StorageClass replaces K3s's `local-path`);
- which addresses may reach the plain-HTTP metrics listeners K3s and kube-vip open on the nodes.

The renderer writes these into the Ansible group_vars as data; `validate --deep` reads the rendered
variables back and compares them with the same facts.
"""

from __future__ import annotations

from ipaddress import IPv4Network, ip_network

from homelabeazy.model.homelab import Homelab
from homelabeazy.model.k3s_config import DISABLED_COMPONENTS
from homelabeazy.model.service import HostNeeds, ServiceEntry

POD_CIDR = IPv4Network("10.42.0.0/16")
"""K3s's default `cluster-cidr` (the homelab never changes it): every pod address."""
SERVICE_CIDR = IPv4Network("10.43.0.0/16")
"""K3s's default `service-cidr`: every ClusterIP."""

ETCD_METRICS_PORT = 2381
"""etcd's metrics and /health, plain HTTP without authentication, on each server's node address
once `etcd-expose-metrics` is set (the k3s_server role sets it, for Prometheus)."""
KUBE_VIP_METRICS_PORT = 2112
"""kube-vip's Prometheus endpoint (its default port), which the k3s_server role binds to each
server's own address (`prometheus_server`; without it, every address of the host network)."""
METRICS_PORTS = (KUBE_VIP_METRICS_PORT, ETCD_METRICS_PORT)
"""The unauthenticated metrics listeners on the nodes that only the cluster may reach."""


def host_needs(services: tuple[ServiceEntry, ...]) -> HostNeeds:
    """The union of what the given services need on every node."""
    union = HostNeeds()
    for entry in services:
        union = union.union(entry.host_needs)
    return union


def k3s_disabled(services: tuple[ServiceEntry, ...]) -> tuple[str, ...]:
    """K3s's `disable` list: ours first (k3s_config.DISABLED_COMPONENTS), then each component an
    enabled service replaces, once. Every value must be one K3s's `disable` accepts (`coredns,
    servicelb, traefik, local-storage, metrics-server`, in every release since long before the
    oldest one homelab.yaml allows, docs.k3s.io installation/packaged-components)."""
    replaced = [c for entry in services for c in entry.k3s_disable]
    return tuple(dict.fromkeys((*DISABLED_COMPONENTS, *replaced)))


def metrics_sources(homelab: Homelab) -> tuple[str, ...]:
    """Who may reach the metrics listeners: the pod network and every node's own address.

    Both are needed: a Prometheus pod on the same node arrives from its pod address, one on another
    node from that node's address (flannel masquerades pod traffic that leaves for a node address).
    """
    return (str(POD_CIDR), *(str(node.ip) for node in homelab.nodes))


def is_network(text: str) -> bool:
    """Whether `text` is an IPv4 address or network (what the firewall's source set holds)."""
    try:
        return ip_network(text, strict=True).version == 4
    except ValueError:
        return False
