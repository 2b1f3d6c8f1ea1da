"""Estates for the shared fake Proxmox that match a model: its nodes as running VMs, and a token."""

from __future__ import annotations

from collections.abc import Iterable

from homelabeazy.model import Homelab
from homelabeazy.model.proxmox_privileges import required_privileges
from tests.support.fake_proxmox import Estate, FakeGuest

SECRET = "pve-secret-4d1e7a"

VERSION = {"release": "9.1", "version": "9.1.1", "repoid": "42a1b3c4"}
VERSION_8 = {"release": "8.4", "version": "8.4.14", "repoid": "b502d23c"}
VERSION_8_OLD = {"release": "8.3", "version": "8.3.5", "repoid": "dac3aa88"}
"""Proxmox VE 8.x releases as GET /version answers them (8.4 has the `import` content type, 8.3 not)."""


def token(homelab: Homelab) -> str:
    """The full token value (`id=secret`) the fake accepts for the model's token id."""
    return f"{homelab.config.proxmox.token_id}={SECRET}"


def vm(homelab: Homelab, index: int, status: str = "running") -> FakeGuest:
    """Model node `index` as Proxmox would hold the VM terraform created for it."""
    node = homelab.nodes[index]
    config = {
        "name": node.name,
        "cores": node.cores,
        "sockets": 1,
        "memory": str(node.memory_mb),
        "tags": f"{homelab.name};k3s",
    }
    return FakeGuest(node.host, "qemu", node.vmid, status, config)


def estate_for(
    homelab: Homelab,
    *,
    vms: Iterable[int] | None = None,
    privileges: Iterable[str] | None = None,
    propagate: int = 1,
    version: dict[str, str] = VERSION,
) -> Estate:
    """Every Proxmox host of the model online, the VMs of nodes `vms` (default: all) running,
    and a token holding `privileges` on `/` with the given propagate flag (default: every
    privilege `version` requires)."""
    if privileges is None:
        privileges = required_privileges(int(version["release"].split(".")[0]))
    indexes = range(len(homelab.nodes)) if vms is None else vms
    hosts = [
        {
            "node": h.name,
            "status": "online",
            "cpu": 0.25,
            "maxcpu": h.cpus,
            "mem": 8 * 2**30,
            "maxmem": 64 * 2**30,
            "level": "",
        }
        for h in homelab.config.proxmox.hosts
    ]
    return Estate(
        version=dict(version),
        nodes=hosts,
        guests=[vm(homelab, i) for i in indexes],
        permissions={"/": dict.fromkeys(privileges, propagate)},
    )
