"""Kubernetes NetworkPolicy semantics: each rule with an allowed and a denied case."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.netpolicy.kube import (
    ContainerPort,
    KubePolicyError,
    NetworkPolicy,
    Pod,
    PodNetwork,
    host,
    selector_matches,
)


def policy(namespace: str, spec: dict[str, Any], name: str = "p") -> NetworkPolicy:
    return NetworkPolicy.from_doc({"metadata": {"name": name}, "spec": spec}, namespace)


def net(*policies: NetworkPolicy, labels: dict[str, dict[str, str]] | None = None) -> PodNetwork:
    return PodNetwork(policies, labels or {})


DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
WEB = Pod("Deployment/web/web", "web", {"app": "web"}, (ContainerPort(8080, "TCP", "http"),))
API = Pod(
    "Deployment/api/api", "api", {"app": "api", "tier": "backend"}, (ContainerPort(9000, "TCP", "grpc"),)
)
DNS = Pod(
    "Deployment/kube-system/coredns",
    "kube-system",
    {"k8s-app": "kube-dns"},
    (ContainerPort(53, "UDP", "dns"),),
)


def test_no_policy_means_not_isolated() -> None:
    assert net().decide(WEB, API, 9000).allowed


def test_a_policy_of_another_namespace_does_not_isolate() -> None:
    assert net(policy("other", DENY_ALL)).decide(WEB, API, 9000).allowed


def test_default_deny_isolates_both_directions() -> None:
    decision = net(policy("api", DENY_ALL, "default-deny")).decide(WEB, API, 9000)
    assert not decision.allowed
    assert decision.egress.allowed
    assert not decision.ingress.allowed
    assert decision.ingress.selecting == ("NetworkPolicy/api/default-deny",)
    out = net(policy("web", DENY_ALL, "default-deny")).decide(WEB, API, 9000)
    assert not out.egress.allowed
    assert out.ingress.allowed


def test_policy_selects_only_matching_pods() -> None:
    deny_other = policy("api", {"podSelector": {"matchLabels": {"app": "other"}}, "policyTypes": ["Ingress"]})
    assert net(deny_other).decide(WEB, API, 9000).allowed
    deny_api = policy("api", {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]})
    assert not net(deny_api).decide(WEB, API, 9000).allowed


def test_policy_types_default_from_sections() -> None:
    # no policyTypes and an egress section: isolates egress too; without one only ingress
    only_ingress = policy("web", {"podSelector": {}})
    assert only_ingress.types == {"Ingress"}
    assert net(only_ingress).decide(WEB, API, 9000).allowed
    with_egress = policy("web", {"podSelector": {}, "egress": [{"to": [{"podSelector": {}}]}]})
    assert with_egress.types == {"Ingress", "Egress"}
    assert not net(with_egress).decide(WEB, API, 9000).allowed


def test_union_of_allows() -> None:
    allow = policy(
        "api",
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {}}]}]},
        "allow",
    )
    decision = net(policy("api", DENY_ALL, "deny"), allow).decide(WEB, API, 9000)
    assert decision.allowed
    assert decision.ingress.allowing == ("NetworkPolicy/api/allow",)


def test_both_egress_and_ingress_must_allow() -> None:
    allow_in = policy(
        "api",
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {}}]}]},
    )
    egress_deny = policy("web", {"podSelector": {}, "policyTypes": ["Egress"]})
    assert net(allow_in).decide(WEB, API, 9000).allowed
    decision = net(allow_in, egress_deny).decide(WEB, API, 9000)
    assert not decision.allowed
    assert not decision.egress.allowed
    assert decision.ingress.allowed


def test_pod_selector_peer_is_in_the_policy_namespace() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
    }
    assert not net(policy("api", rule)).decide(WEB, API, 9000).allowed  # web lives in another namespace
    same_ns_web = Pod("Deployment/api/web", "api", {"app": "web"})
    assert net(policy("api", rule)).decide(same_ns_web, API, 9000).allowed


def test_namespace_selector_peer_uses_namespace_labels() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "front"}}}]}],
    }
    assert not net(policy("api", rule)).decide(WEB, API, 9000).allowed
    assert net(policy("api", rule), labels={"web": {"team": "front"}}).decide(WEB, API, 9000).allowed


def test_namespace_name_label_is_always_set() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}}}]}
        ],
    }
    assert net(policy("api", rule)).decide(WEB, API, 9000).allowed


def test_combined_selectors_in_one_peer_are_anded() -> None:
    both = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}},
                        "podSelector": {"matchLabels": {"app": "other"}},
                    }
                ]
            }
        ],
    }
    assert not net(policy("api", both)).decide(WEB, API, 9000).allowed
    both["ingress"][0]["from"][0]["podSelector"] = {"matchLabels": {"app": "web"}}
    assert net(policy("api", both)).decide(WEB, API, 9000).allowed


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"key": "tier", "operator": "In", "values": ["backend", "x"]}, True),
        ({"key": "tier", "operator": "In", "values": ["front"]}, False),
        ({"key": "tier", "operator": "NotIn", "values": ["front"]}, True),
        ({"key": "tier", "operator": "NotIn", "values": ["backend"]}, False),
        ({"key": "missing", "operator": "NotIn", "values": ["x"]}, True),
        ({"key": "tier", "operator": "Exists"}, True),
        ({"key": "missing", "operator": "Exists"}, False),
        ({"key": "missing", "operator": "DoesNotExist"}, True),
        ({"key": "tier", "operator": "DoesNotExist"}, False),
        ({"key": "tier", "operator": "Bogus"}, False),
    ],
)
def test_match_expressions(expression: dict[str, Any], expected: bool) -> None:
    assert selector_matches({"matchExpressions": [expression]}, API.labels) is expected


def test_match_labels_and_expressions_are_anded() -> None:
    sel = {
        "matchLabels": {"app": "api"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["x"]}],
    }
    assert not selector_matches(sel, API.labels)
    assert selector_matches({}, API.labels)


NODE = host("10.10.10.20", "node")
OUT = host("203.0.113.9", "internet")
EXCEPTED = host("10.42.0.7")


def test_ip_block_with_except() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.42.0.0/16"]}}], "ports": [{"port": 443}]}
        ],
    }
    network = net(policy("web", rule))
    assert network.decide(WEB, OUT, 443).allowed
    assert not network.decide(WEB, EXCEPTED, 443).allowed
    assert not network.decide(WEB, OUT, 80).allowed


def test_ip_block_does_not_match_pods_and_selectors_do_not_match_hosts() -> None:
    by_block = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
    }
    assert not net(policy("api", by_block)).decide(WEB, API, 9000).allowed
    assert net(policy("api", by_block)).decide(NODE, API, 9000).allowed
    by_ns = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {}}]}],
    }
    assert not net(policy("api", by_ns)).decide(NODE, API, 9000).allowed


def test_ip_block_of_another_family_does_not_match() -> None:
    v6 = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "::/0"}}]}],
    }
    assert not net(policy("api", v6)).decide(NODE, API, 9000).allowed


def test_hosts_are_never_isolated() -> None:
    assert net(policy("api", DENY_ALL)).decide(API, OUT, 443).egress.selecting == ("NetworkPolicy/api/p",)
    assert net(policy("web", DENY_ALL)).decide(API, OUT, 443).allowed


def _ingress_ports(ports: list[dict[str, Any]]) -> NetworkPolicy:
    return policy("api", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": ports}]})


def test_numeric_port_and_protocol() -> None:
    network = net(_ingress_ports([{"port": 9000}]))
    assert network.decide(WEB, API, 9000, "TCP").allowed
    assert not network.decide(WEB, API, 9000, "UDP").allowed  # protocol defaults to TCP
    assert not network.decide(WEB, API, 9001).allowed
    udp = net(_ingress_ports([{"port": 9000, "protocol": "UDP"}]))
    assert udp.decide(WEB, API, 9000, "UDP").allowed
    assert not udp.decide(WEB, API, 9000, "TCP").allowed


def test_end_port_range() -> None:
    network = net(_ingress_ports([{"port": 8000, "endPort": 9000}]))
    assert network.decide(WEB, API, 8000).allowed
    assert network.decide(WEB, API, 9000).allowed
    assert not network.decide(WEB, API, 9001).allowed
    assert not network.decide(WEB, API, 7999).allowed


def test_named_port_resolves_on_the_destination_pod() -> None:
    network = net(_ingress_ports([{"port": "grpc"}]))
    assert network.decide(WEB, API, 9000).allowed
    assert not network.decide(WEB, API, 9001).allowed
    # the name must exist with that protocol on the destination
    assert (
        not net(_ingress_ports([{"port": "grpc", "protocol": "UDP"}])).decide(WEB, API, 9000, "UDP").allowed
    )
    assert not net(_ingress_ports([{"port": "http"}])).decide(WEB, API, 9000).allowed


def test_named_port_in_egress_is_the_destination_port() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": "dns", "protocol": "UDP"}]}],
    }
    network = net(policy("web", rule))
    assert network.decide(WEB, DNS, 53, "UDP").allowed
    assert not network.decide(WEB, OUT, 53, "UDP").allowed  # an address has no named ports


def test_port_protocol_without_number_opens_every_port_of_it() -> None:
    network = net(_ingress_ports([{"protocol": "UDP"}]))
    assert network.decide(WEB, API, 1234, "UDP").allowed
    assert not network.decide(WEB, API, 1234, "TCP").allowed


def test_empty_rule_allows_all_and_no_rules_allow_nothing() -> None:
    assert (
        net(policy("api", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}))
        .decide(WEB, API, 1)
        .allowed
    )
    assert (
        not net(policy("api", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}))
        .decide(WEB, API, 1)
        .allowed
    )


def test_host_network_pods_are_not_isolated() -> None:
    hostnet = Pod("DaemonSet/api/agent", "api", {"app": "api"}, host_network=True)
    assert net(policy("api", DENY_ALL)).decide(WEB, hostnet, 80).ingress.allowed


def test_reason_names_side_and_policies() -> None:
    decision = net(policy("api", DENY_ALL, "default-deny")).decide(WEB, API, 9000)
    assert decision.reason() == (
        "ingress of Deployment/api/api is isolated by NetworkPolicy/api/default-deny and none of them "
        "allows TCP/9000 from Deployment/web/web"
    )


def test_bad_ip_block_and_port_are_errors() -> None:
    with pytest.raises(KubePolicyError):
        policy("api", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "nope"}}]}]})
    with pytest.raises(ValueError, match="outside"):
        net().decide(WEB, API, 0)


def test_empty_peer_list_means_every_peer() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [], "ports": [{"port": 9000}]}],
    }
    network = net(policy("api", rule))
    assert network.decide(WEB, API, 9000).allowed
    assert network.decide(NODE, API, 9000).allowed
    assert not network.decide(WEB, API, 9001).allowed
