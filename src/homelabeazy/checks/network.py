"""VLANs and the firewall's zones and ports: the network every other part is placed in."""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check, inside_subnet, usable_range
from homelabeazy.config.load import FieldPath
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.model.node_setup import POD_CIDR, SERVICE_CIDR


@check("vlan-id-unique")
def vlan_ids_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Each VLAN id is used once."""
    seen: dict[int, int] = {}
    for i, vlan in enumerate(config.network.vlans):
        if vlan.id in seen:
            yield Finding(
                ("network", "vlans", i, "id"),
                f"VLAN id {vlan.id} is already used by network.vlans[{seen[vlan.id]}]",
                "give every VLAN its own id (1-4094)",
            )
        seen.setdefault(vlan.id, i)


@check("vlan-name-unique")
def vlan_names_unique(config: HomelabConfig) -> Iterator[Finding]:
    """Each VLAN (zone) name is used once and is not a reserved zone name."""
    seen: set[str] = set()
    for i, vlan in enumerate(config.network.vlans):
        if vlan.name in ("internet", "any"):
            yield Finding(
                ("network", "vlans", i, "name"),
                f"'{vlan.name}' is a reserved zone name",
                "choose another name",
            )
        elif vlan.name in seen:
            yield Finding(
                ("network", "vlans", i, "name"),
                f"zone name '{vlan.name}' is used twice",
                "zone names are used by firewall rules and must be unique",
            )
        seen.add(vlan.name)


@check("cidr-overlap")
def cidrs_do_not_overlap(config: HomelabConfig) -> Iterator[Finding]:
    """VLAN subnets do not overlap."""
    vlans = config.network.vlans
    for i, vlan in enumerate(vlans):
        for j in range(i):
            if vlan.cidr.overlaps(vlans[j].cidr):
                yield Finding(
                    ("network", "vlans", i, "cidr"),
                    f"{vlan.cidr} overlaps network.vlans[{j}] ({vlans[j].cidr})",
                    "routed VLANs need disjoint subnets",
                )


@check("k3s-networks-free")
def vlans_clear_of_k3s_networks(config: HomelabConfig) -> Iterator[Finding]:
    """No VLAN overlaps K3s's pod or Service network: a node, or a host pods must reach, inside it
    is routed into the cluster instead (and the nodes' metrics firewall admits the pod network)."""
    for i, vlan in enumerate(config.network.vlans):
        for name, network in (("pod", POD_CIDR), ("Service", SERVICE_CIDR)):
            if vlan.cidr.overlaps(network):
                yield Finding(
                    ("network", "vlans", i, "cidr"),
                    f"{vlan.cidr} overlaps K3s's {name} network {network}",
                    "K3s gives pods 10.42.0.0/16 and Services 10.43.0.0/16: choose a subnet outside both",
                )


@check("gateway-in-cidr")
def gateway_inside_cidr(config: HomelabConfig) -> Iterator[Finding]:
    """Each VLAN gateway is a usable address of its own subnet."""
    for i, vlan in enumerate(config.network.vlans):
        if not inside_subnet(vlan.gateway, vlan.cidr):
            yield Finding(
                ("network", "vlans", i, "gateway"),
                f"{vlan.gateway} is not a usable address of {vlan.cidr}",
                f"pick an address in {usable_range(vlan)}",
            )


@check("services-vlan")
def one_services_vlan(config: HomelabConfig) -> Iterator[Finding]:
    """Exactly one VLAN has purpose `services`: the cluster lives there."""
    count = sum(1 for v in config.network.vlans if v.purpose == "services")
    if count != 1:
        yield Finding(
            ("network", "vlans"),
            f"{count} VLANs have purpose 'services'; exactly one must",
            "the K3s nodes, VIP and LoadBalancer range live in that VLAN",
        )


@check("firewall-zones")
def firewall_rule_zones(config: HomelabConfig) -> Iterator[Finding]:
    """Firewall rules name known zones, and ports only go with tcp/udp."""
    zones = {v.name for v in config.network.vlans} | {"internet", "any"}
    for i, rule in enumerate(config.network.firewall.rules):
        base: FieldPath = ("network", "firewall", "rules", i)
        for key, zone in (("from", rule.from_zone), ("to", rule.to_zone)):
            if zone not in zones:
                yield Finding((*base, key), f"unknown zone '{zone}'", "zones: " + ", ".join(sorted(zones)))
        if rule.ports and rule.protocol not in ("tcp", "udp"):
            yield Finding(
                (*base, "ports"),
                f"ports given for protocol '{rule.protocol}'",
                "set protocol: tcp or udp, or remove ports",
            )
        for k, port in enumerate(rule.ports):
            lo, hi = _port_bounds(port)
            if not (1 <= lo <= hi <= 65535):
                yield Finding(
                    (*base, "ports", k),
                    f"port '{port}' is outside 1-65535 or reversed",
                    "write a port like 443 or a range like 8000-8100",
                )


def _port_bounds(port: str | int) -> tuple[int, int]:
    """First and last port of `443`, `"443"` or `"8000-8100"`; an int may be negative or a bool."""
    if isinstance(port, int):
        return int(port), int(port)
    low, _, high = port.partition("-")
    return int(low), int(high or low)
