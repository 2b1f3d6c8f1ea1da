"""Real packets: the compiled nftables policy on a router namespace must do what `net check` says.

One namespace per zone (plus the internet) is wired to a router namespace with the model's VLAN
subnets and gateways; the rendered ruleset is loaded on the router; from every zone to every
other zone's hosts, real TCP connections are opened and UDP datagrams sent (and echoed back), and
every observed result must equal the verdict of `homelab net check` for the same flow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.cli.common import load_homelab
from homelabeazy.netpolicy import policy_for_homelab
from homelabeazy.render.network import render
from tests.netpolicy.netlab import NetLab, Site
from tests.support.integration import need_binary, need_root

pytestmark = pytest.mark.integration

TCP_PORTS = [22, 53, 443, 8080]
UDP_PORTS = [53, 123]
DNS_HOST = "10.10.10.100"
INTERNET_HOST = IPv4Interface("198.51.100.10/24")
INTERNET_ROUTER = IPv4Interface("198.51.100.1/24")

EXTRA_RULES = [
    {
        "from": "services",
        "to": "internet",
        "protocol": "tcp",
        "ports": [22],
        "action": "deny",
        "description": "no SSH out",
    },
    {
        "from": "internet",
        "to": "services",
        "protocol": "tcp",
        "ports": [8080],
        "action": "allow",
        "description": "published app",
    },
    {
        "from": "management",
        "to": "guests",
        "protocol": "udp",
        "ports": [53],
        "action": "deny",
        "description": "leave guest DNS alone",
    },
    {
        "from": "guests",
        "to": "management",
        "protocol": "tcp",
        "ports": ["8000-8100"],
        "action": "allow",
        "description": "portal",
    },
]


@pytest.fixture
def lab() -> Iterator[NetLab]:
    need_root("building network namespaces")
    need_binary("ip", "apt-get install iproute2")
    need_binary("nft", "apt-get install nftables")
    netlab = NetLab()
    try:
        yield netlab
    finally:
        netlab.close()


def _free_address(cidr: Any, taken: set[IPv4Address]) -> IPv4Address:
    """The highest usable address of the subnet nothing in the model uses."""
    for offset in range(2, cidr.num_addresses):
        candidate = cidr.broadcast_address - offset + 1
        if candidate not in taken:
            return candidate
    raise AssertionError(f"no free address in {cidr}")


def test_real_packets_match_net_check(
    lab: NetLab, write_config: Callable[..., Path], cli: Callable[..., Any], tmp_path: Path
) -> None:
    config = write_config(network={"dns_servers": [DNS_HOST]}, rules=EXTRA_RULES)
    _, homelab = load_homelab(config)
    ruleset = tmp_path / "homelab.nft"
    ruleset.write_text(render(homelab)["network/nftables/homelab.nft"], encoding="utf-8")

    taken = {n.ip for n in homelab.nodes} | {z.gateway for z in homelab.zones} | {homelab.cluster.vip}
    taken |= {h.address for h in homelab.config.proxmox.hosts} | {IPv4Address(DNS_HOST)}
    lab.build_router()
    for zone in homelab.zones:
        host = IPv4Interface(f"{_free_address(zone.cidr, taken)}/{zone.cidr.prefixlen}")
        addresses = [host]
        if zone.purpose == "services":  # the DNS server the default rules name lives here too
            addresses.append(IPv4Interface(f"{DNS_HOST}/{zone.cidr.prefixlen}"))
        lab.add_site(zone.name, IPv4Interface(f"{zone.gateway}/{zone.cidr.prefixlen}"), addresses)
    lab.add_site("internet", INTERNET_ROUTER, [INTERNET_HOST])
    lab.load_ruleset(ruleset)
    lab.load_ruleset(ruleset)  # reloading replaces the table atomically instead of failing or duplicating
    loaded = lab.list_chain(("inet", "homelab", "forward"))
    assert loaded.count('comment "#') == len(policy_for_homelab(homelab).rules)
    for site in lab.sites:
        lab.listen(site, TCP_PORTS, UDP_PORTS)

    flows = [("tcp", p) for p in TCP_PORTS] + [("udp", p) for p in UDP_PORTS]
    cases: dict[str, tuple[Site, IPv4Address, str, int]] = {}
    per_source: dict[str, list[dict[str, Any]]] = {}
    for src in lab.sites:
        for dst in lab.sites:
            if dst is src:
                continue  # hosts of one zone talk directly: nothing for the firewall to decide
            for address in dst.addresses:
                for proto, port in flows:
                    case_id = f"{src.zone}->{address.ip}:{port}/{proto}"
                    cases[case_id] = (src, address.ip, proto, port)
                    per_source.setdefault(src.zone, []).append(
                        {"id": case_id, "address": str(address.ip), "port": port, "protocol": proto}
                    )
    running = [lab.start_probes(site, per_source[site.zone]) for site in lab.sites]
    observed: dict[str, str] = {}
    for process in running:
        observed.update(lab.results(process))

    expected: dict[str, str] = {}
    for case_id, (src, address, proto, port) in cases.items():
        result = cli(
            "net",
            "check",
            str(src.addresses[0].ip),
            str(address),
            f"{port}/{proto}",
            "--json",
            "-c",
            str(config),
        )
        assert result.code == 0, result.err
        expected[case_id] = json.loads(result.out)["action"]

    mismatches = {k: (observed.get(k), expected[k]) for k in expected if observed.get(k) != expected[k]}
    assert not mismatches, f"observed != net check for {len(mismatches)} flows: {mismatches}"
    # the run proves something only if both outcomes occurred, including the rules added here
    assert set(expected.values()) == {"allow", "deny"}
    assert expected["internet->10.10.10.254:8080/tcp"] == "allow"
    assert expected["internet->10.10.10.254:443/tcp"] == "deny"
    assert expected["services->198.51.100.10:22/tcp"] == "deny"
    assert expected["services->198.51.100.10:443/tcp"] == "allow"
    assert expected[f"guests->{DNS_HOST}:53/udp"] == "allow"
    assert expected["guests->10.10.10.254:53/udp"] == "deny"
    assert expected["management->10.10.20.254:53/udp"] == "deny"
    assert expected["management->10.10.20.254:53/tcp"] == "allow"
    assert expected["guests->10.10.30.254:8080/tcp"] == "allow"
    assert expected["guests->10.10.30.254:443/tcp"] == "deny"
