"""Estates for the shared fake Proxmox that match a model: its nodes as running VMs, and a token."""

from __future__ import annotations

from collections.abc import Iterable

from homelabeazy.model import Homelab
from homelabeazy.model.proxmox_privileges import REQUIRED_PRIVILEGES
from tests.support.fake_proxmox import Estate, FakeGuest

SECRET = "pve-secret-4d1e7a"

VERSION = {"release": "9.1", "version": "9.1.1", "repoid": "42a1b3c4"}


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
    privileges: Iterable[str] = REQUIRED_PRIVILEGES,
    propagate: int = 1,
) -> Estate:
    """Every Proxmox host of the model online, the VMs of nodes `vms` (default: all) running,
    and a token holding `privileges` on `/` with the given propagate flag."""
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
        version=dict(VERSION),
        nodes=hosts,
        guests=[vm(homelab, i) for i in indexes],
        permissions={"/": dict.fromkeys(privileges, propagate)},
    )
