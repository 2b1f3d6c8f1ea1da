"""The model's node facts: deterministic IPAM, stable numbering, spread placement, overrides."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from homelabeazy.config.load import parse_yaml
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model import Homelab, Node, build

BASE, _ = parse_yaml(example_text())
HOSTS = [
    {"name": f"pve{i}", "address": f"10.10.30.{i + 1}", "cpus": 64, "memory_mb": 262144} for i in range(1, 4)
]


def homelab(**changes: Any) -> Homelab:
    """The example with `section__key=value` changes (dotted through dicts), built."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for part in parents:
            target = target[part]
        target[last] = value
    return build(HomelabConfig.model_validate(data))


def facts(node: Node) -> tuple[str, str, int, str, str, int, int, int]:
    return (
        node.name,
        node.role,
        node.vmid,
        node.host,
        str(node.ip),
        node.cores,
        node.memory_mb,
        node.disk_gb,
    )


def test_ipam_is_deterministic(example_homelab: Homelab) -> None:
    again = build(HomelabConfig.model_validate(copy.deepcopy(BASE)))
    assert again.nodes == example_homelab.nodes
    assert [(n.name, str(n.ip), n.vmid) for n in example_homelab.nodes] == [
        ("k3s-server-1", "10.10.10.20", 200),
        ("k3s-server-2", "10.10.10.21", 201),
        ("k3s-server-3", "10.10.10.22", 202),
        ("k3s-agent-1", "10.10.10.25", 210),
        ("k3s-agent-2", "10.10.10.26", 211),
    ]


def test_adding_an_agent_never_renumbers_existing_nodes() -> None:
    before = homelab(proxmox__hosts=HOSTS)
    after = homelab(proxmox__hosts=HOSTS, cluster__agents__count=3)
    assert [facts(n) for n in after.nodes[: len(before.nodes)]] == [facts(n) for n in before.nodes]
    new = after.nodes[-1]
    assert new.name == "k3s-agent-3"
    assert new.ip not in {n.ip for n in before.nodes}
    assert new.vmid not in {n.vmid for n in before.nodes}


def test_adding_servers_never_moves_agents() -> None:
    before = homelab(proxmox__hosts=HOSTS)
    after = homelab(proxmox__hosts=HOSTS, cluster__servers__count=5)
    assert [facts(n) for n in after.agents] == [facts(n) for n in before.agents]
    assert [facts(n) for n in after.servers[:3]] == [facts(n) for n in before.servers]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 30), st.integers(0, 30), st.sampled_from([1, 3, 5]), st.integers(1, 3))
def test_node_numbering_is_stable_for_any_growth(a: int, b: int, servers: int, hosts: int) -> None:
    small, large = sorted((a, b))
    common = {
        "proxmox__hosts": HOSTS[:hosts],
        "cluster__servers__count": servers,
        "cluster__node_ip_range": "10.10.10.20-10.10.10.99",
    }
    one = homelab(cluster__agents__count=small, **common)
    two = homelab(cluster__agents__count=large, **common)
    assert [facts(n) for n in two.nodes[: len(one.nodes)]] == [facts(n) for n in one.nodes]
    assert len({n.ip for n in two.nodes}) == len(two.nodes)
    assert len({n.vmid for n in two.nodes}) == len(two.nodes)


def test_servers_spread_over_hosts() -> None:
    assert len({n.host for n in homelab(proxmox__hosts=HOSTS).servers}) == 3
    assert len({n.host for n in homelab(proxmox__hosts=HOSTS[:2]).servers}) == 2
    agents = homelab(proxmox__hosts=HOSTS, cluster__agents__count=3).agents
    assert len({n.host for n in agents}) == 3


def test_node_override_changes_only_that_node() -> None:
    plain = homelab(proxmox__hosts=HOSTS)
    changed = homelab(
        proxmox__hosts=HOSTS,
        cluster__node_overrides={"k3s-agent-2": {"cores": 8, "memory_mb": 16384, "host": "pve1"}},
    )
    for old, new in zip(plain.nodes, changed.nodes, strict=True):
        if old.name == "k3s-agent-2":
            assert (new.cores, new.memory_mb, new.host) == (8, 16384, "pve1")
            assert (new.ip, new.vmid, new.disk_gb) == (old.ip, old.vmid, old.disk_gb)
            assert old.host != "pve1"
        else:
            assert new == old


def test_node_network_facts_come_from_the_services_vlan(example_homelab: Homelab) -> None:
    for node in example_homelab.nodes:
        assert node.vlan_id == 10
        assert str(node.gateway) == "10.10.10.1"
        assert node.cidr == f"{node.ip}/24"
        assert node.fqdn == f"{node.name}.home.example.com"


def test_routes_resolve_hosts_and_access(example_homelab: Homelab) -> None:
    routes = {r.host: r for r in example_homelab.routes}
    assert routes["whoami.home.example.com"].access == "public"
    assert routes["home.home.example.com"].groups == ("admins",)
    assert "auth.home.example.com" in routes
    assert len(routes) == len(example_homelab.routes)
