"""The policy model on the example homelab: defaults, verdicts, endpoints, the matrix."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from homelabeazy.config.schema import FirewallRule, NetworkConfig
from homelabeazy.model import Homelab
from homelabeazy.netpolicy import (
    DEFAULT_DENY,
    INTRA_ZONE,
    PolicyError,
    UnknownEndpointError,
    compile_policy,
    model_host_addresses,
    policy_for_homelab,
    policy_from_network,
    reach,
    resolve_endpoint,
)
from homelabeazy.netpolicy.decide import Endpoint


def test_effective_rules_are_user_rules_then_defaults(example_homelab: Homelab) -> None:
    policy = policy_for_homelab(example_homelab)
    labels = [r.label() for r in policy.rules]
    assert labels == [
        "#1 guests -> services tcp 443 allow (guests may use the web apps through Traefik)",
        "#2 management -> any any allow (management reaches everything)",
        "#3 services -> internet any allow (services reaches the internet)",
        "#4 services -> dns 10.10.10.1 tcp/udp 53 allow "
        "(services reaches DNS on its gateway and the DNS servers)",
        "#5 guests -> internet any allow (guests reaches the internet)",
        "#6 guests -> dns 10.10.10.1,10.10.20.1 tcp/udp 53 allow "
        "(guests reaches DNS on its gateway and the DNS servers)",
        "#7 any -> management any deny (nothing reaches management except management)",
    ]
    assert [r.origin for r in policy.rules] == ["user"] + ["default"] * 6
    assert policy.rules[0].where() == "network.firewall.rules[0]"
    assert policy.rules[6].sources == ("services", "guests", "internet")


def _network(example_homelab: Homelab, **firewall: object) -> NetworkConfig:
    data = example_homelab.config.network.model_dump(by_alias=True, mode="json")
    data["firewall"].update(firewall)
    return NetworkConfig.model_validate(data)


def test_defaults_off_leaves_only_user_rules(example_homelab: Homelab) -> None:
    policy = policy_from_network(_network(example_homelab, defaults=False))
    assert len(policy.rules) == 1
    table = compile_policy(policy)
    verdict = table.decide(Endpoint("management"), Endpoint("services"), "tcp", 22)
    assert (verdict.action, verdict.rule, verdict.reason) == ("deny", None, DEFAULT_DENY)


@pytest.mark.parametrize(
    ("src", "dst", "proto", "port", "action", "rule"),
    [
        ("guests", "services", "tcp", 443, "allow", 1),
        ("guests", "services", "tcp", 22, "deny", None),
        ("guests", "services", "udp", 443, "deny", None),
        ("guests", "10.10.10.1", "udp", 53, "allow", 6),
        ("guests", "10.10.10.1", "tcp", 53, "allow", 6),
        ("guests", "10.10.10.7", "udp", 53, "deny", None),
        ("guests", "8.8.8.8", "tcp", 25, "allow", 5),
        ("guests", "management", "tcp", 443, "deny", 7),
        ("services", "management", "icmp", None, "deny", 7),
        ("internet", "management", "tcp", 22, "deny", 7),
        ("internet", "services", "tcp", 443, "deny", None),
        ("management", "guests", "udp", 9999, "allow", 2),
        ("management", "internet", "other", None, "allow", 2),
        ("pve1", "k3s-server-1", "tcp", 6443, "allow", 2),
        ("guests", "vault.home.example.com", "tcp", 443, "allow", 1),
        ("guests", "k3s.home.example.com", "tcp", 6443, "deny", None),
    ],
)
def test_verdicts_on_the_example(
    example_homelab: Homelab, src: str, dst: str, proto: str, port: int | None, action: str, rule: int | None
) -> None:
    policy = policy_for_homelab(example_homelab)
    names = model_host_addresses(example_homelab)
    table = compile_policy(policy)
    verdict = table.decide(
        resolve_endpoint(src, policy, names), resolve_endpoint(dst, policy, names), proto, port
    )  # type: ignore[arg-type]
    assert verdict.action == action
    assert (verdict.rule.number if verdict.rule else None) == rule


def test_intra_zone_is_never_filtered(example_homelab: Homelab) -> None:
    table = compile_policy(policy_for_homelab(example_homelab))
    verdict = table.decide(Endpoint("guests"), Endpoint("guests"), "tcp", 22)
    assert (verdict.action, verdict.rule, verdict.reason) == ("allow", None, INTRA_ZONE)


def test_endpoint_resolution(example_homelab: Homelab) -> None:
    policy = policy_for_homelab(example_homelab)
    names = model_host_addresses(example_homelab)
    assert resolve_endpoint("Guests", policy, names) == Endpoint("guests", None, "Guests")
    assert resolve_endpoint("1.1.1.1", policy, names).zone == "internet"
    assert resolve_endpoint("10.10.30.9", policy, names).zone == "management"
    server = resolve_endpoint("k3s-server-2.home.example.com", policy, names)
    assert (server.zone, server.address) == ("services", IPv4Address("10.10.10.21"))
    route = resolve_endpoint("auth.home.example.com.", policy, names)
    assert route.address == example_homelab.cluster.traefik_ip
    with pytest.raises(UnknownEndpointError, match="zones: services, guests, management, internet"):
        resolve_endpoint("nas", policy, names)
    with pytest.raises(UnknownEndpointError):
        resolve_endpoint("any", policy, names)


def test_reach_summaries(example_homelab: Homelab) -> None:
    table = compile_policy(policy_for_homelab(example_homelab))
    assert reach(table, "guests", "services").text == "tcp 443; tcp+udp 53 to 10.10.10.1"
    assert reach(table, "management", "guests").kind == "all"
    assert reach(table, "internet", "services").kind == "none"
    assert reach(table, "services", "services").kind == "local"


def test_unknown_zone_and_bad_ports_are_policy_errors(example_homelab: Homelab) -> None:
    zones = policy_for_homelab(example_homelab).zones
    from homelabeazy.netpolicy import build_policy

    bad_zone = FirewallRule.model_validate({"from": "lab", "to": "any", "action": "allow"})
    with pytest.raises(PolicyError, match="unknown zone 'lab'"):
        build_policy(zones, [bad_zone], True, [])
    bad_ports = FirewallRule.model_validate(
        {"from": "any", "to": "any", "ports": ["90-80"], "action": "allow", "protocol": "tcp"}
    )
    with pytest.raises(PolicyError, match="outside"):
        build_policy(zones, [bad_ports], True, [])


def test_decide_needs_a_port_for_tcp(example_homelab: Homelab) -> None:
    table = compile_policy(policy_for_homelab(example_homelab))
    with pytest.raises(ValueError, match="needs a destination port"):
        table.decide(Endpoint("guests"), Endpoint("services"), "tcp", None)


@pytest.mark.parametrize(
    ("ports", "ok"),
    [
        (["1"], True),
        (["65535"], True),
        (["1-65535"], True),
        (["0"], False),
        (["65536"], False),
        (["0-10"], False),
    ],
)
def test_port_limits_are_exactly_1_to_65535(example_homelab: Homelab, ports: list[str], ok: bool) -> None:
    """The policy's own port check at its edges (the config check in front of it has the same limits)."""
    from homelabeazy.netpolicy import build_policy

    zones = policy_for_homelab(example_homelab).zones
    rule = FirewallRule.model_validate(
        {"from": "any", "to": "any", "ports": ports, "action": "allow", "protocol": "tcp"}
    )
    if ok:
        built = build_policy(zones, [rule], False, [])
        assert [r.ports.intervals for r in built.rules] == [
            ((int(ports[0].split("-")[0]), int(ports[0].split("-")[-1])),)
        ]
    else:
        with pytest.raises(PolicyError, match=r"is outside 1-65535 or reversed"):
            build_policy(zones, [rule], False, [])
