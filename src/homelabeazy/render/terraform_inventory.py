"""The Ansible inventory from `terraform output -json`: what Proxmox really runs, not what we meant.

outputs.tf publishes `nodes` (name -> {ip, role, vmid, host}), `proxmox_hosts` and `ssh_user`;
they become the same `InventoryNode` records the model gives, and `build_inventory` (shared with
the ansible layer) turns them into the inventory. For an applied, unchanged homelab the two
inventories are equal; a difference means the state and homelab.yaml have drifted apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homelabeazy.errors import ExternalSystemError
from homelabeazy.render.inventory import InventoryNode, build_inventory

ACTION = "read the outputs for the inventory"
FIX = "run `terraform apply` in terraform/ first (outputs exist only after an apply)"


def inventory_from_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inventory data from the parsed `terraform output -json`."""
    nodes = nodes_from_outputs(outputs)
    hosts = _value(outputs, "proxmox_hosts")
    user = _value(outputs, "ssh_user")
    if not isinstance(hosts, dict) or not all(isinstance(v, str) for v in hosts.values()):
        raise ExternalSystemError(
            "terraform", ACTION, "output `proxmox_hosts` is not a map of addresses", FIX
        )
    if not isinstance(user, str):
        raise ExternalSystemError("terraform", ACTION, "output `ssh_user` is not a string", FIX)
    return build_inventory(nodes, sorted(hosts.items()), user)


def nodes_from_outputs(outputs: Mapping[str, Any]) -> list[InventoryNode]:
    """The `nodes` output as inventory records; a malformed entry is named, not guessed."""
    nodes = _value(outputs, "nodes")
    if not isinstance(nodes, dict):
        raise ExternalSystemError("terraform", ACTION, "output `nodes` is not a map", FIX)
    records = []
    for name, entry in sorted(nodes.items()):
        try:
            records.append(
                InventoryNode(
                    name=str(name),
                    ip=_typed(entry, "ip", str),
                    role=_typed(entry, "role", str),
                    vmid=int(_typed(entry, "vmid", int | float)),
                    host=_typed(entry, "host", str),
                )
            )
        except (KeyError, TypeError) as exc:
            raise ExternalSystemError(
                "terraform", ACTION, f"output `nodes` entry {name}: {exc.args[0]}", FIX
            ) from None
    return records


def _value(outputs: Mapping[str, Any], name: str) -> Any:
    if name not in outputs:
        raise ExternalSystemError("terraform", ACTION, f"there is no output `{name}`", FIX)
    entry = outputs[name]
    return entry.get("value") if isinstance(entry, dict) and "value" in entry else entry


def _typed(entry: Any, key: str, kind: Any) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise KeyError(f"missing `{key}`")
    value = entry[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"`{key}` has the wrong type")
    return value
