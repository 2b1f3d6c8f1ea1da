"""Turning what a user types (`guests`, `10.10.20.7`, `vault.home.example.com`) into an Endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import AddressValueError, IPv4Address
from typing import TYPE_CHECKING

from homelabeazy.netpolicy.decide import Endpoint
from homelabeazy.netpolicy.policy import Policy

if TYPE_CHECKING:
    from homelabeazy.model import Homelab


class UnknownEndpointError(ValueError):
    """Not a zone, an IPv4 address or a host name the model knows."""


def model_host_addresses(homelab: Homelab) -> dict[str, IPv4Address]:
    """Every name the model gives an address: nodes, Proxmox hosts, the API name, Traefik's routes."""
    names: dict[str, IPv4Address] = {node.name: node.ip for node in homelab.nodes}
    for host in homelab.config.proxmox.hosts:
        names[host.name] = host.address
    # the model's DNS records: the API name, node FQDNs and every route (at Traefik's address)
    names.update((record.name, record.address) for record in homelab.dns)
    return names


def resolve_endpoint(text: str, policy: Policy, names: Mapping[str, IPv4Address]) -> Endpoint:
    """A zone name, an IPv4 address (mapped to its zone; outside every VLAN is `internet`) or a name."""
    value = text.strip().lower().rstrip(".")
    if value in policy.zone_names:
        return Endpoint(value, None, text)
    address: IPv4Address | None
    try:
        address = IPv4Address(value)
    except (AddressValueError, ValueError):
        address = names.get(value)
    if address is None:
        raise UnknownEndpointError(
            f"'{text}' is not a zone, an IPv4 address or a host name of this homelab "
            f"(zones: {', '.join(policy.zone_names)})"
        )
    return Endpoint(policy.zone_of(address), address, text)
