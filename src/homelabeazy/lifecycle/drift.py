"""`homelab drift`: where the live homelab and the model disagree — a pure diff of facts.

The facts (Proxmox VMs, ArgoCD Applications) are read by ops adapters and passed in; nothing here
talks to a system, so every rule is tested from data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from homelabeazy.model import Homelab
from homelabeazy.ops.proxmox import VmFacts

DriftKind = Literal["missing", "extra", "differs"]

ROOT_APPLICATION = "root"
"""The app-of-apps itself; expected alongside one Application per service and app."""


@dataclass(frozen=True)
class DriftItem:
    """One disagreement: what, which, what the model says, what is live."""

    layer: str
    name: str
    kind: DriftKind
    model: str
    live: str

    def as_dict(self) -> dict[str, str]:
        """For --json."""
        return dict(self.__dict__)


def expected_applications(homelab: Homelab) -> set[str]:
    """Every Application the rendered app-of-apps defines (route companions included)."""
    from homelabeazy.render.kubernetes import bundles  # noqa: PLC0415 - only drift needs the renderer

    return {bundle.name for bundle in bundles(homelab)} | {ROOT_APPLICATION}


def vm_drift(homelab: Homelab, vms: Iterable[VmFacts]) -> list[DriftItem]:
    """Model nodes vs live VMs: missing, extra (tagged with the homelab's name), or different."""
    live = {v.vmid: v for v in vms}
    items: list[DriftItem] = []
    wanted = {n.vmid for n in homelab.nodes}
    for node in homelab.nodes:
        vm = live.get(node.vmid)
        model = f"vmid {node.vmid} on {node.host}, {node.cores} cores, {node.memory_mb} MiB"
        if vm is None:
            items.append(DriftItem("vm", node.name, "missing", model, "absent"))
            continue
        differences = []
        if vm.name != node.name:
            differences.append(f"name {vm.name}")
        if vm.host != node.host:
            differences.append(f"on {vm.host}")
        if vm.cores != node.cores:
            differences.append(f"{vm.cores} cores")
        if vm.memory_mb != node.memory_mb:
            differences.append(f"{vm.memory_mb} MiB")
        if differences:
            items.append(DriftItem("vm", node.name, "differs", model, ", ".join(differences)))
    for vm in sorted(live.values(), key=lambda v: v.vmid):
        if vm.vmid not in wanted and homelab.name in vm.tags:
            items.append(
                DriftItem("vm", vm.name or str(vm.vmid), "extra", "absent", f"vmid {vm.vmid} on {vm.host}")
            )
    return items


def application_drift(homelab: Homelab, applications: Iterable[dict[str, Any]]) -> list[DriftItem]:
    """Applications the model defines but the cluster lacks, and ones the model no longer has."""
    live = {a.get("metadata", {}).get("name", "") for a in applications}
    wanted = expected_applications(homelab)
    items = [DriftItem("argocd", n, "missing", "defined", "absent") for n in sorted(wanted - live)]
    items += [DriftItem("argocd", n, "extra", "absent", "live") for n in sorted(live - wanted)]
    return items


def compute_drift(
    homelab: Homelab, vms: Iterable[VmFacts] | None, applications: Iterable[dict[str, Any]] | None
) -> list[DriftItem]:
    """All disagreements; a layer whose facts are None (not read) is left out."""
    items: list[DriftItem] = []
    if vms is not None:
        items += vm_drift(homelab, vms)
    if applications is not None:
        items += application_drift(homelab, applications)
    return items
