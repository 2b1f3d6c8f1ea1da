"""Deterministic address allocation.

Servers own the first SERVER_SLOTS addresses of the node range and agents the rest, each by its
index, so adding an agent (or a server) never renumbers an existing node.
"""

from __future__ import annotations

from ipaddress import IPv4Address

SERVER_SLOTS = 5
"""Addresses (and VMID offsets below 10) reserved for servers: etcd never wants more than 5."""

AGENT_VMID_OFFSET = 10
"""Agents' VMIDs start at vmid_start + 10."""


def parse_range(text: str) -> tuple[IPv4Address, IPv4Address]:
    """`a-b` into its first and last address (validated by the schema already)."""
    first, last = text.split("-")
    return IPv4Address(first), IPv4Address(last)


def node_address(node_range: str, role: str, index: int) -> IPv4Address:
    """Address of the `index`-th (0-based) node of `role` inside `node_range`."""
    first, last = parse_range(node_range)
    offset = index if role == "server" else SERVER_SLOTS + index
    address = first + offset
    if address > last:
        raise ValueError(f"node range {node_range} has no address for {role} #{index + 1}")
    return address


def node_vmid(vmid_start: int, role: str, index: int) -> int:
    """VMID of the `index`-th node of `role`."""
    return vmid_start + (index if role == "server" else AGENT_VMID_OFFSET + index)


def range_addresses(text: str) -> list[IPv4Address]:
    """Every address of an inclusive range, in order."""
    first, last = parse_range(text)
    return [first + i for i in range(int(last) - int(first) + 1)]


def dns_gateway_address(
    loadbalancer_range: str, traefik_ip: IPv4Address, fixed: IPv4Address | None
) -> IPv4Address | None:
    """k8s-gateway's LoadBalancer IP: the fixed one, else the range's first that is not Traefik's.

    None when the range holds no other address (the `dns-gateway-address` check reports it).
    """
    if fixed is not None:
        return fixed
    return next((a for a in range_addresses(loadbalancer_range) if a != traefik_ip), None)
