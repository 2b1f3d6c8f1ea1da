"""Which Proxmox host each node VM runs on, and its size.

Servers are spread round-robin over the hosts so one host failure never takes etcd quorum with it;
agents are spread the same way, starting on the second host to balance load.
A node override may pin a node to a host or change only that node's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from homelabeazy.config.schema import ClusterConfig, NodeSize, ProxmoxConfig

PROXMOX_RESERVE_MB = 2048
"""Memory kept free on every host for Proxmox itself (ZFS ARC aside)."""


@dataclass(frozen=True)
class PlacedNode:
    """A node's identity, size and host before addresses are allocated."""

    name: str
    role: Literal["server", "agent"]
    index: int
    host: str
    cores: int
    memory_mb: int
    disk_gb: int


def node_names(cluster: ClusterConfig) -> list[str]:
    """Names of every node, servers first."""
    return [f"k3s-server-{i + 1}" for i in range(cluster.servers.count)] + [
        f"k3s-agent-{i + 1}" for i in range(cluster.agents.count)
    ]


def place_nodes(cluster: ClusterConfig, proxmox: ProxmoxConfig) -> list[PlacedNode]:
    """Place every node on a host, applying per-node overrides."""
    hosts = [h.name for h in proxmox.hosts]
    placed: list[PlacedNode] = []
    roles: tuple[tuple[Literal["server", "agent"], NodeSize], ...] = (
        ("server", cluster.servers),
        ("agent", cluster.agents),
    )
    for role, size in roles:
        # A fixed offset (not the server count) keeps agents on their host when servers are added.
        offset = 0 if role == "server" else 1
        for index in range(size.count):
            name = f"k3s-{role}-{index + 1}"
            override = cluster.node_overrides.get(name)
            host = hosts[(offset + index) % len(hosts)]
            if override is not None and override.host is not None:
                host = override.host
            placed.append(
                PlacedNode(
                    name=name,
                    role=role,
                    index=index,
                    host=host,
                    cores=(override.cores if override and override.cores else size.cores),
                    memory_mb=(override.memory_mb if override and override.memory_mb else size.memory_mb),
                    disk_gb=(override.disk_gb if override and override.disk_gb else size.disk_gb),
                )
            )
    return placed
