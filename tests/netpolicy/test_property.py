"""Property tests: for random policies the compiled checker agrees with a brute-force evaluation.

Every query of a universe that covers each distinct case (all zones, the addresses rules name,
one ordinary address per zone, every port bound a rule or default names and its neighbours, icmp
and other protocols) is answered both ways; shadowed rules must be exactly the rules brute force
never sees decide. `test_universe_covers_every_rule` holds the universe to that claim.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import HealthCheck, given, settings

from homelabeazy.config.schema import NetworkConfig
from homelabeazy.netpolicy import compile_policy, policy_from_network, shadowed_rules
from homelabeazy.netpolicy.decide import Endpoint
from tests.netpolicy.oracle import brute_decide, zone_of
from tests.netpolicy.strategies import DEFAULT_PORTS, DNS_CHOICES, ORDINARY, PORTS, ZONES, networks

pytestmark = pytest.mark.slow  # hypothesis: random policies against a brute-force checker


def universe(network: NetworkConfig) -> list[tuple[str, IPv4Address, str, int | None]]:
    addresses = {IPv4Address(a) for a in ORDINARY.values()}
    addresses |= {IPv4Address(a) for a in DNS_CHOICES}
    addresses |= {v.gateway for v in network.vlans}
    flows: list[tuple[str, int | None]] = [(p, port) for p in ("tcp", "udp") for port in PORTS]
    flows += [("icmp", None), ("other", None)]
    return [
        (src, address, proto, port)
        for src in [*ZONES, "internet"]
        for address in sorted(addresses)
        for proto, port in flows
    ]


@settings(max_examples=200, deadline=None)
@given(networks())
def test_universe_covers_every_rule(network: NetworkConfig) -> None:
    """Each port bound and each address any effective rule names (user or default) is in the
    universe with both neighbours: a rule the brute force cannot tell apart is never drawn."""
    queried = universe(network)
    ports = {port for *_, port in queried if port is not None}
    addresses = {address for _, address, *_ in queried}
    assert set(DEFAULT_PORTS) <= ports
    for rule in policy_from_network(network).rules:
        for lo, hi in rule.ports.intervals:
            assert {lo, hi} <= ports, rule.label()
            assert {lo - 1, hi + 1} & set(range(1, 65536)) <= ports, rule.label()
        assert set(rule.hosts or ()) <= addresses, rule.label()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_checker_equals_brute_force(network: NetworkConfig) -> None:
    policy = policy_from_network(network)
    table = compile_policy(policy)
    decided_by: set[int] = set()
    for src, address, proto, port in universe(network):
        dst = Endpoint(zone_of(network, address), address)
        verdict = table.decide(Endpoint(src), dst, proto, port)  # type: ignore[arg-type]
        action, who = brute_decide(network, src, address, proto, port)
        case = f"{src} -> {address} {proto}/{port}"
        assert verdict.action == action, case
        if who.startswith("user:"):
            assert verdict.rule is not None, case
            assert verdict.rule.config_index == int(who[5:]), case
            decided_by.add(int(who[5:]))
        elif who == "default":
            assert verdict.rule is not None, case
            assert verdict.rule.origin == "default", case
        else:
            assert verdict.rule is None, case
    shadowed = {s.rule.config_index for s in shadowed_rules(table)}
    assert shadowed == set(range(len(network.firewall.rules))) - decided_by


@settings(max_examples=100, deadline=None)
@given(networks())
def test_matrix_summary_agrees_with_brute_force(network: NetworkConfig) -> None:
    """`all` and `none` cells are exactly the pairs where every / no ordinary flow passes."""
    from homelabeazy.netpolicy import reach

    table = compile_policy(policy_from_network(network))
    for src in [*ZONES, "internet"]:
        for dst in [*ZONES, "internet"]:
            if src == dst:
                continue
            address = IPv4Address(ORDINARY[dst])
            flows = [(p, port) for p in ("tcp", "udp") for port in PORTS] + [("icmp", None), ("other", None)]
            passed = [brute_decide(network, src, address, p, port)[0] == "allow" for p, port in flows]
            kind = reach(table, src, dst).kind
            assert (kind == "all") == all(passed), (src, dst)
            if kind == "none":
                assert not any(passed), (src, dst)
