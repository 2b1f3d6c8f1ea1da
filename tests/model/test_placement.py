"""Placement at its edges: names, where the first server and first agent land, per-node sizes."""

from __future__ import annotations

import copy
from typing import Any

from homelabeazy.config.load import parse_yaml
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model.placement import node_names, place_nodes

BASE, _ = parse_yaml(example_text())
HOSTS = [
    {"name": f"pve{i}", "address": f"10.10.30.{i + 1}", "cpus": 64, "memory_mb": 262144} for i in (1, 2, 3)
]


def config(**cluster: Any) -> HomelabConfig:
    data = copy.deepcopy(BASE)
    data["proxmox"]["hosts"] = HOSTS
    data["cluster"].update(cluster)
    return HomelabConfig.model_validate(data)


def test_node_names_count_from_one_servers_first() -> None:
    assert node_names(config().cluster) == [
        "k3s-server-1",
        "k3s-server-2",
        "k3s-server-3",
        "k3s-agent-1",
        "k3s-agent-2",
    ]
    assert [n.name for n in place_nodes(config().cluster, config().proxmox)] == node_names(config().cluster)


def test_servers_start_on_the_first_host_and_agents_on_the_second() -> None:
    placed = {n.name: n.host for n in place_nodes(config().cluster, config().proxmox)}
    assert placed == {
        "k3s-server-1": "pve1",
        "k3s-server-2": "pve2",
        "k3s-server-3": "pve3",
        "k3s-agent-1": "pve2",
        "k3s-agent-2": "pve3",
    }


def test_an_override_changes_only_its_node_and_only_what_it_names() -> None:
    cfg = config(node_overrides={"k3s-agent-2": {"disk_gb": 200, "host": "pve1"}})
    placed = {n.name: n for n in place_nodes(cfg.cluster, cfg.proxmox)}
    agent = placed["k3s-agent-2"]
    assert (agent.host, agent.disk_gb, agent.cores, agent.memory_mb) == ("pve1", 200, 4, 8192)
    assert placed["k3s-agent-1"].disk_gb == 64
    assert placed["k3s-server-1"].disk_gb == 32
