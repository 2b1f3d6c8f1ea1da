"""The Ansible inventory, from node records: shared by the rendered inventory and `tf-inventory`.

Both the model and `terraform output -json` produce the same records, so the inventory built
from a real `terraform apply` must equal the one rendered from homelab.yaml (a test proves it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from homelabeazy.model import Homelab


@dataclass(frozen=True)
class InventoryNode:
    """What the inventory needs of one node VM."""

    name: str
    ip: str
    role: str
    vmid: int
    host: str


def nodes_of(homelab: Homelab) -> list[InventoryNode]:
    """The model's nodes as inventory records."""
    return [InventoryNode(n.name, str(n.ip), n.role, n.vmid, n.host) for n in homelab.nodes]


def build_inventory(
    nodes: Iterable[InventoryNode], proxmox_hosts: Iterable[tuple[str, str]], ssh_user: str
) -> dict[str, Any]:
    """YAML-inventory data: groups k3s_servers, k3s_agents (children of k3s_cluster), proxmox_hosts."""
    ordered = sorted(nodes, key=lambda n: (n.role != "server", n.vmid))

    def hosts(role: str) -> dict[str, Any]:
        return {
            # node_ip is the cluster address K3s binds to; ansible_host is only how Ansible reaches
            # the node (a jump host or test harness may change it, the cluster address stays).
            n.name: {"ansible_host": n.ip, "node_ip": n.ip, "proxmox_vmid": n.vmid, "proxmox_node": n.host}
            for n in ordered
            if n.role == role
        }

    return {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {
                        "k3s_servers": {"hosts": hosts("server")},
                        "k3s_agents": {"hosts": hosts("agent")},
                    },
                    "vars": {"ansible_user": ssh_user},
                },
                "proxmox_hosts": {
                    "hosts": {name: {"ansible_host": address} for name, address in proxmox_hosts},
                    "vars": {"ansible_user": "root"},
                },
            }
        }
    }


def inventory_for(homelab: Homelab) -> dict[str, Any]:
    """The inventory rendered from the model."""
    return build_inventory(
        nodes_of(homelab),
        [(h.name, str(h.address)) for h in homelab.config.proxmox.hosts],
        homelab.cluster.ssh_user,
    )
