"""A brute-force reading of the firewall config, written independently of netpolicy.

It interprets the raw `network:` section rule by rule for one packet at a time — no expansion,
no interval arithmetic, no compiled table — so the property tests can hold the checker to it.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from homelabeazy.config.schema import NetworkConfig


def zone_of(network: NetworkConfig, address: IPv4Address) -> str:
    for vlan in network.vlans:
        if address in vlan.cidr:
            return vlan.name
    return "internet"


def _zone_matches(label: str, zone: str) -> bool:
    return label in ("any", zone)


def _port_matches(ports: list[str | int], port: int | None) -> bool:
    if not ports:
        return True
    for spec in ports:
        low, _, high = str(spec).partition("-")
        if port is not None and int(low) <= port <= int(high or low):
            return True
    return False


def _default_decision(
    network: NetworkConfig, src: str, dst: str, address: IPv4Address, proto: str, port: int | None
) -> str | None:
    purposes = {v.name: v.purpose for v in network.vlans}
    if purposes.get(src) == "management":
        return "allow"
    if purposes.get(src) in ("services", "guests"):
        if dst == "internet":
            return "allow"
        gateway = next(v.gateway for v in network.vlans if v.name == src)
        dns = {gateway, *network.dns_servers}
        if proto in ("tcp", "udp") and port == 53 and address in dns:
            return "allow"
    if purposes.get(dst) == "management":
        return "deny"
    return None


def brute_decide(
    network: NetworkConfig, src_zone: str, address: IPv4Address, proto: str, port: int | None
) -> tuple[str, str]:
    """(action, who): who is `user:<index>`, `default`, `intra` or `none` (default deny)."""
    dst_zone = zone_of(network, address)
    if src_zone == dst_zone:
        return "allow", "intra"
    for index, rule in enumerate(network.firewall.rules):
        if not (_zone_matches(rule.from_zone, src_zone) and _zone_matches(rule.to_zone, dst_zone)):
            continue
        if rule.protocol not in ("any", proto):
            continue
        if proto in ("tcp", "udp") and not _port_matches(rule.ports, port):
            continue
        return rule.action, f"user:{index}"
    if network.firewall.defaults:
        decided = _default_decision(network, src_zone, dst_zone, address, proto, port)
        if decided is not None:
            return decided, "default"
    return "deny", "none"
